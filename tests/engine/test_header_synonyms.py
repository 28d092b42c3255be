"""The mapping suggestions know the usual headers of HR exports in eight languages (header_synonyms.toml)."""
from __future__ import annotations

import pytest

from tui_sync.engine.mapping import suggest, synonyms
from tui_sync.model import DEPARTMENT_FIELDS, USER_STANDARD_FIELDS

LANGUAGES = ("en", "de", "fr", "es", "it", "pl", "ru", "uk")

# (departments sheet, users sheet) as HR systems in each language export them; the expected
# mapping is the headers in the order of the fields below (None: the sheet has no such column)
DEPT_FIELDS = ("code", "name", "parentCode")
USER_FIELDS = ("login", "email", "firstName", "lastName", "departmentId", "subordination", "userUniqueKey",
               "phone", "jobTitle")
SHEETS = {
    "en": (("Department code", "Department name", "Parent department"),
           ("User name", "Email address", "First name", "Last name", "Department", "Line manager", "Employee ID",
            "Phone number", "Job title")),
    "de": (("Abteilungsnr", "Abteilungsname", "Übergeordnete Abteilungsnr"),
           ("Benutzername", "E-Mail-Adresse", "Vorname", "Nachname", "Abteilungsnr", "Vorgesetzter",
            "Personalnummer", "Telefon", "Stellenbezeichnung")),
    "fr": (("Code service", "Nom du service", "Code parent"),
           ("Identifiant", "Adresse e-mail", "Prénom", "Nom", "Code service", "Responsable hiérarchique",
            "Matricule", "Téléphone", "Poste")),
    "es": (("Código departamento", "Nombre del departamento", "Departamento padre"),
           ("Usuario", "Correo electrónico", "Nombre", "Apellidos", "Departamento", "Jefe directo",
            "Número de empleado", "Teléfono", "Puesto")),
    "it": (("Codice reparto", "Nome reparto", "Codice padre"),
           ("Nome utente", "Indirizzo email", "Nome", "Cognome", "Codice reparto", "Responsabile",
            "Matricola", "Telefono", "Qualifica")),
    "pl": (("Kod działu", "Nazwa działu", "Dział nadrzędny"),
           ("Login", "Adres e-mail", "Imię", "Nazwisko", "Kod działu", "Przełożony", "Numer pracownika",
            "Telefon", "Stanowisko")),
    "ru": (("Код подразделения", "Наименование подразделения", "Код вышестоящего подразделения"),
           ("Логин", "Электронная почта", "Имя", "Фамилия", "Код подразделения", "Руководитель",
            "Табельный номер", "Телефон", "Должность")),
    "uk": (("Код підрозділу", "Назва підрозділу", "Код вищого підрозділу"),
           ("Логін", "Електронна пошта", "Ім'я", "Прізвище", "Код підрозділу", "Керівник", "Табельний номер",
            "Телефон", "Посада")),
}


def mapping(fields: tuple[str, ...], headers: tuple[str, ...]) -> dict[str, str | None]:
    """Fields suggested one after another, as the wizard does (a header maps one field)."""
    taken: set[str] = set()
    out: dict[str, str | None] = {}
    for f in fields:
        out[f] = suggest(f, headers, taken)
        if out[f]:
            taken.add(out[f])
    return out


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_hr_export_in_each_language_is_mapped_by_the_suggestions(language: str):
    departments, users = SHEETS[language]
    assert mapping(DEPT_FIELDS, departments) == dict(zip(DEPT_FIELDS, departments))
    assert mapping(USER_FIELDS, users) == dict(zip(USER_FIELDS, users))


def test_headers_match_without_case_accents_spaces_or_punctuation():
    assert suggest("email", ("EMAIL ADRESSE",)) == "EMAIL ADRESSE"  # E-Mail-Adresse
    assert suggest("firstName", ("Prenom",)) == "Prenom"  # Prénom
    assert suggest("login", ("Учётная запись",)) == "Учётная запись"
    assert suggest("login", ("учетная  запись",)) == "учетная  запись"


def test_the_most_specific_header_wins_whatever_the_column_order():
    # a user sheet with the department's name before its code: the code is the department (U4)
    assert suggest("departmentId", ("Abteilung", "Abteilungsnr")) == "Abteilungsnr"
    assert suggest("departmentId", ("Department", "Department code")) == "Department code"
    assert suggest("departmentId", ("Department",)) == "Department"
    assert suggest("login", ("Benutzer", "login")) == "login"  # the field's own name first


def test_the_data_file_names_every_field_in_every_language():
    data = synonyms()
    for f in (*DEPARTMENT_FIELDS, *USER_STANDARD_FIELDS):
        assert f in data, f
    import tomllib
    from importlib import resources

    raw = tomllib.loads(resources.files("tui_sync.engine").joinpath("header_synonyms.toml").read_text("utf-8"))
    for f, languages in raw.items():
        assert set(languages) == set(LANGUAGES), (f, sorted(languages))
        assert all(languages[lang] for lang in LANGUAGES), f
