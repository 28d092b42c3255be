"""Mapping (LMS field = column name): check it against a sheet and rename its columns.

A mapped column missing from the sheet stops planning (P2, exit 2) with the
sheet's headers listed; unmapped fields get suggestions from the headers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from ..errors import MappingError
from ..model import DEPARTMENT_FIELDS, DEPARTMENT_REQUIRED, USER_REQUIRED, USER_STANDARD_FIELDS
from ..sources.table import ROW, Table

# Common header spellings per LMS field, compared after `_squash` (case, spacing
# and punctuation removed). English, German and Russian, as HR exports come.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("code", "departmentcode", "deptcode", "kod", "код", "kodpodrazdeleniya", "abteilungscode", "kostenstelle"),
    "name": ("name", "department", "departmentname", "dept", "title", "abteilung", "подразделение", "название", "отдел"),
    "parentCode": ("parentcode", "parent", "parentdepartment", "parentdepartmentcode", "parentdept", "übergeordnet", "родитель", "кодродителя"),
    "departmentUniqueKey": ("departmentuniquekey", "deptkey", "departmentkey", "departmentid", "orgunitid", "uniquekey"),
    "login": ("login", "username", "user", "userid", "account", "samaccountname", "benutzername", "логин"),
    "email": ("email", "emailaddress", "mail", "e-mail", "workemail", "почта", "электроннаяпочта"),
    "firstName": ("firstname", "givenname", "forename", "first", "vorname", "имя"),
    "lastName": ("lastname", "surname", "familyname", "last", "nachname", "фамилия"),
    "departmentId": ("departmentid", "departmentcode", "department", "dept", "deptcode", "abteilung", "подразделение", "отдел"),
    "status": ("status", "state", "employmentstatus", "active", "статус"),
    "subordination": ("subordination", "supervisor", "manager", "supervisorlogin", "managerlogin", "linemanager", "vorgesetzter", "руководитель"),
    "coSubordination": ("cosubordination", "functionalmanager", "comanager", "matrixmanager", "fachvorgesetzter", "функциональныйруководитель"),
    "userUniqueKey": ("useruniquekey", "employeeid", "employeenumber", "personnelnumber", "staffid", "personalnummer", "табельныйномер", "uniquekey"),
    "phone": ("phone", "phonenumber", "telephone", "mobile", "tel", "telefon", "телефон"),
    "jobTitle": ("jobtitle", "title", "position", "role", "job", "stelle", "funktion", "должность"),
}


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def suggest(field: str, headers: list[str] | tuple[str, ...], taken: set[str] = frozenset()) -> str | None:
    """The sheet header that most plausibly holds `field`, or None."""
    wanted = {_squash(field), *(_squash(s) for s in SYNONYMS.get(field, ()))}
    for h in headers:
        if h not in taken and _squash(h) in wanted:
            return h
    return None


@dataclass(frozen=True)
class MappingReport:
    """What `check` prints about one entity's mapping against its sheet."""

    entity: str
    missing_columns: tuple[str, ...]  # mapped but absent from the sheet
    unmapped_required: tuple[str, ...]
    suggestions: dict[str, str]  # unmapped LMS field -> header
    unknown_custom: tuple[str, ...] = ()  # custom fields the LMS does not know


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
) -> MappingReport:
    standard, required = fields_of(entity)
    present = set(headers)
    folded = {h.casefold() for h in headers}
    missing = tuple(c for c in mapping.values() if c not in present and c.casefold() not in folded)
    required_all = (*required, *(f for f in extra_required if f not in required))
    unmapped_required = tuple(f for f in required_all if f not in mapping)
    taken = set(mapping.values())
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
    return MappingReport(entity, missing, unmapped_required, suggestions, unknown_custom)


def mapped_frame(table: Table, mapping: dict[str, str], entity: str) -> pl.DataFrame:
    """The sheet with its mapped columns renamed to LMS field names (plus ROW).

    Column names match exactly, or else case-insensitively when that is unambiguous.
    """
    by_fold: dict[str, list[str]] = {}
    for h in table.headers:
        by_fold.setdefault(h.casefold(), []).append(h)
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for lms_field, column in mapping.items():
        if column in table.headers:
            resolved[lms_field] = column
        elif len(by_fold.get(column.casefold(), [])) == 1:
            resolved[lms_field] = by_fold[column.casefold()][0]
        else:
            missing.append(f'"{column}" (for {lms_field})')
    if missing:
        headers = ", ".join(f'"{h}"' for h in table.headers) or "(none)"
        raise MappingError(
            f"mapped column{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the {entity}s sheet",
            where=table.source + (f", sheet {table.sheet!r}" if table.sheet else ""),
            hint=f"the sheet's headers are: {headers}. Fix [{entity}s.mapping] in the config "
            f"or, if the names sit lower in the sheet, set header_row in [{entity}s.source].",
        )
    return table.df.select(pl.col(ROW), *(pl.col(col).alias(f) for f, col in resolved.items()))

