"""rodrunnerd: watch the sequencer share and submit one ingest per completed run."""
