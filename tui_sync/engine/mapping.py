"""Mapping (LMS field = column name): check it against a sheet and rename its columns.

A mapped column missing from the sheet stops planning (P2, exit 2) with the
sheet's headers listed; unmapped fields get suggestions from the headers.
"""
from __future__ import annotations

import difflib
import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

import polars as pl

from ..errors import MappingError
from ..model import DEPARTMENT_FIELDS, DEPARTMENT_REQUIRED, USER_REQUIRED, USER_STANDARD_FIELDS
from ..sources.codepage import CODE_PAGES
from ..sources.table import ROW, Table

SYNONYMS_FILE = "header_synonyms.toml"  # beside this module: the usual HR headers in eight languages


def _squash(text: str) -> str:
    """A header as compared: without case, accents, spaces and punctuation ("E-Mail-Adresse" → "emailadresse")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


@functools.cache
def synonyms() -> dict[str, dict[str, int]]:
    """LMS field -> squashed header -> rank (its place in its language's list: lower is more specific)."""
    data = tomllib.loads(resources.files(__package__).joinpath(SYNONYMS_FILE).read_text(encoding="utf-8"))
    out: dict[str, dict[str, int]] = {}
    for name, languages in data.items():
        ranks: dict[str, int] = {}
        for headers in languages.values():
            for i, header in enumerate(headers):
                key = _squash(header)
                ranks[key] = min(ranks.get(key, i), i)
        out[name] = ranks
    return out


def suggest(field: str, headers: list[str] | tuple[str, ...], taken: set[str] = frozenset()) -> str | None:
    """The sheet header that most plausibly holds `field` (its own name, else the most specific of its
    usual names), or None."""
    ranks = synonyms().get(field, {})
    own = _squash(field)
    used = {t.casefold() for t in taken}  # (mapped columns match headers regardless of case)
    best: tuple[int, str] | None = None
    for h in headers:
        if h.casefold() in used:
            continue
        key = _squash(h)
        rank = -1 if key == own else ranks.get(key)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, h)
    return best[1] if best else None


def suggest_instead(field: str, column: str, headers: tuple[str, ...], taken: set[str] = frozenset()) -> str | None:
    """For a mapped column the sheet lacks: the header meant, by the field's usual names or
    else by a close spelling ("E-Mail adress" → "E-mail address"); None when nothing is close."""
    found = suggest(field, headers, taken)
    if found:
        return found
    used = {t.casefold() for t in taken}
    by_squash = {_squash(h): h for h in headers if h.casefold() not in used}
    close = difflib.get_close_matches(_squash(column), list(by_squash), n=1, cutoff=0.75)
    return by_squash[close[0]] if close else None


def code_page_meant(columns: list[str] | tuple[str, ...], headers: tuple[str, ...], encoding: str | None) -> str | None:
    """F1: when mapped `columns` absent from a sheet read in `encoding` are its headers read in another
    code page (`Ьbergeordnet` is `Übergeordnet` read as cp1251), that code page; else None.
    The mapping, typed in the UTF-8 config, tells what the headers should say."""
    wanted = [c for c in columns if not c.isascii()]
    if not wanted or not encoding or encoding.lower().replace("-", "").startswith(("utf8", "utf16")):
        return None
    try:
        raw = [h.encode(encoding) for h in headers if not h.isascii()]
    except (LookupError, UnicodeEncodeError):
        return None
    for codec in ("utf-8", *CODE_PAGES):
        read = set()
        for b in raw:
            try:
                read.add(b.decode(codec).casefold())
            except UnicodeDecodeError:
                pass
        if all(c.casefold() in read for c in wanted):
            return codec
    return None


def _wrong_code_page(encoding: str, codec: str, entity: str) -> str:
    return (f"the sheet was read as {encoding}, but its headers are the mapped names read as {codec}: "
            f'set encoding = "{codec}" in [{entity}s.source]')


@dataclass(frozen=True)
class MappingReport:
    """What `check` says about one entity's mapping against its sheet."""

    entity: str
    missing: tuple[tuple[str, str], ...]  # (LMS field, column): mapped but absent from the sheet
    unmapped_required: tuple[str, ...]
    suggestions: dict[str, str]  # unmapped LMS field -> header
    unknown_custom: tuple[str, ...] = ()  # custom fields the LMS does not know
    instead: dict[str, str] = field(default_factory=dict)  # mapped field whose column is absent -> header
    read_as: str | None = None  # the sheet's encoding, when the headers are the mapping in `code_page`
    code_page: str | None = None  # F1: the code page the missing columns are in

    @property
    def missing_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for _, c in self.missing))

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unmapped_required or self.unknown_custom)

    def findings(self) -> list[tuple[bool, str]]:
        """What to tell the operator, as (is an error, text): the same lines in `check` and the UI."""
        out: list[tuple[bool, str]] = []
        if self.code_page and self.read_as:
            return [(True, _wrong_code_page(self.read_as, self.code_page, self.entity))]
        for f, c in self.missing:
            hint = f'; the sheet has "{self.instead[f]}"' if f in self.instead else ""
            out.append((True, f'mapped column "{c}" (for {f}) is not in the sheet{hint}'))
        for f in self.unmapped_required:
            hint = f' (the sheet has "{self.suggestions[f]}")' if f in self.suggestions else ""
            out.append((True, f"required field {f} is not mapped{hint}"))
        for f in self.unknown_custom:
            out.append((True, f"custom field {f} is not a profile field of the LMS account: every user write "
                              "would be refused (add the field in the LMS, or remove it from the mapping)"))
        for f, h in self.suggestions.items():
            if f not in self.unmapped_required:
                out.append((False, f'suggestion: map {f} = "{h}"'))
        if self.ok:
            out.append((False, "mapping OK"))
        return out


def fields_of(entity: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if entity == "department":
        return DEPARTMENT_FIELDS, DEPARTMENT_REQUIRED
    return USER_STANDARD_FIELDS, USER_REQUIRED


def review_mapping(
    entity: str,
    mapping: dict[str, str],
    headers: tuple[str, ...],
    *,
    extra_required: tuple[str, ...] = (),
    known_custom: tuple[str, ...] | None = None,
    encoding: str | None = None,
) -> MappingReport:
    standard, required = fields_of(entity)
    present = set(headers)
    folded = {h.casefold() for h in headers}
    missing = tuple((f, c) for f, c in mapping.items() if c not in present and c.casefold() not in folded)
    required_all = (*required, *(f for f in extra_required if f not in required))
    unmapped_required = tuple(f for f in required_all if f not in mapping)
    taken = set(mapping.values())
    instead: dict[str, str] = {}
    for f, c in missing:
        s = suggest_instead(f, c, headers, taken | set(instead.values()))
        if s:
            instead[f] = s
    suggestions: dict[str, str] = {}
    for f in (*required_all, *standard):
        if f not in mapping and f not in suggestions:
            s = suggest(f, headers, taken | set(suggestions.values()))
            if s:
                suggestions[f] = s
    unknown_custom: tuple[str, ...] = ()
    if entity == "user" and known_custom is not None:
        known = {k.casefold() for k in known_custom}
        unknown_custom = tuple(f for f in mapping if f not in standard and f.casefold() not in known)
    meant = code_page_meant([c for _, c in missing], headers, encoding) if missing else None
    if meant:  # the headers are misread: suggest none of them
        return MappingReport(entity, missing, unmapped_required, {}, unknown_custom, read_as=encoding,
                             code_page=meant)
    return MappingReport(entity, missing, unmapped_required, suggestions, unknown_custom, instead)


def mapped_frame(table: Table, mapping: dict[str, str], entity: str) -> pl.DataFrame:
    """The sheet with its mapped columns renamed to LMS field names (plus ROW).

    Column names match exactly, or else case-insensitively when that is unambiguous.
    """
    by_fold: dict[str, list[str]] = {}
    for h in table.headers:
        by_fold.setdefault(h.casefold(), []).append(h)
    resolved: dict[str, str] = {}
    missing: list[str] = []
    missing_columns: list[str] = []
    meant: list[str] = []
    for lms_field, column in mapping.items():
        if column in table.headers:
            resolved[lms_field] = column
        elif len(by_fold.get(column.casefold(), [])) == 1:
            resolved[lms_field] = by_fold[column.casefold()][0]
        else:
            missing.append(f'"{column}" (for {lms_field})')
            missing_columns.append(column)
            instead = suggest_instead(lms_field, column, table.headers, set(mapping.values()))
            if instead:
                meant.append(f'{lms_field} = "{instead}"')
    if missing:
        where = table.source + (f", sheet {table.sheet!r}" if table.sheet else "")
        codec = code_page_meant(missing_columns, table.headers, table.encoding)
        if codec:
            raise MappingError(f"mapped column{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the "
                               f"{entity}s sheet", where=where, hint=_wrong_code_page(table.encoding, codec, entity))
        headers = ", ".join(f'"{h}"' for h in table.headers) or "(none)"
        raise MappingError(
            f"mapped column{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the {entity}s sheet",
            where=where,
            hint=(f"perhaps {', '.join(meant)}? " if meant else "")
            + f"The sheet's headers are: {headers}. Fix [{entity}s.mapping] in the config "
            f"or, if the names sit lower in the sheet, set header_row in [{entity}s.source].",
        )
    return table.df.select(pl.col(ROW), *(pl.col(col).alias(f) for f, col in resolved.items()))

