"""Pure: AVUs (attribute, value, units) and the atomic change that makes a set of them true."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["AVU", "Change", "changes_to_remove", "changes_to_set", "sorted_avus"]


@dataclass(frozen=True)
class AVU:
    """One iRODS attribute-value-units triple (units ``""`` when there are none)."""

    attr: str
    value: str
    units: str = ""

    @classmethod
    def of(cls, avu: AVU | tuple[str, ...]) -> AVU:
        """An AVU from an AVU or an ``(attr, value[, units])`` tuple."""
        if isinstance(avu, AVU):
            return avu
        if len(avu) not in (2, 3):
            raise ValueError(f"an AVU is (attribute, value[, units]), got {avu!r}")
        return cls(str(avu[0]), str(avu[1]), str(avu[2]) if len(avu) == 3 and avu[2] else "")


Change = tuple[str, AVU]  # ("add" | "remove", avu): one operation of an atomic AVU change


def _order(avu: AVU) -> tuple[str, str, str]:
    return (avu.attr, avu.value, avu.units)


def sorted_avus(avus: Iterable[AVU]) -> list[AVU]:
    """``avus`` without duplicates, sorted by attribute, value, units."""
    return sorted(set(avus), key=_order)


def changes_to_set(
    current: Iterable[AVU],
    avus: Iterable[AVU | tuple[str, ...]],
    replace_attributes: Iterable[str] | None = None,
) -> tuple[list[AVU], list[AVU]]:
    """(added, removed): what makes ``avus`` present on an object holding ``current``.

    AVUs already there stay. Those of an attribute in ``replace_attributes`` that are not in
    ``avus`` go (sorted). Apply removals and additions in one atomic operation.
    """
    wanted = list(dict.fromkeys(AVU.of(a) for a in avus))
    held = set(current)
    replace = set(replace_attributes or ())
    removed = sorted((a for a in held if a.attr in replace and a not in wanted), key=_order)
    added = [a for a in wanted if a not in held]
    return added, removed


def changes_to_remove(current: Iterable[AVU], avus: Iterable[AVU | tuple[str, ...]]) -> list[AVU]:
    """The AVUs of ``avus`` that are on an object holding ``current`` (others are ignored)."""
    held = set(current)
    return [a for a in dict.fromkeys(AVU.of(x) for x in avus) if a in held]
