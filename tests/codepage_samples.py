"""Users sheets as HR offices across Europe and the CIS type them, with the code page their Excel
saves "CSV (separated by semicolons)" in (F1). Each has a header with non-ASCII letters, some rows,
and a one-row, one-letter variant."""
from __future__ import annotations

HEADER = "Login;E-mail;{first};{last};{dept}"

# language: (Windows code page, header words, rows of first name, last name, department, short: one name)
SHEETS: dict[str, tuple[str, tuple[str, str, str], list[tuple[str, str, str]], str]] = {
    "German": ("cp1252", ("Vorname", "Nachname", "Abteilung"), [
        ("Jürgen", "Müller", "Geschäftsführung"), ("Käthe", "Schäfer", "Buchhaltung"),
        ("Björn", "Weiß", "Öffentlichkeitsarbeit"), ("Uwe", "Groß", "Vertrieb Süd"),
    ], "Müller"),
    "French": ("cp1252", ("Prénom", "Nom", "Service"), [
        ("Hélène", "Lefèvre", "Comptabilité générale"), ("François", "Dupont", "Ressources humaines"),
        ("Zoé", "Bénard", "Contrôle qualité"), ("Jérôme", "Œillet", "Achats"),
    ], "Hélène"),
    "Spanish": ("cp1252", ("Nombre", "Apellidos", "Departamento"), [
        ("José", "Muñoz Peña", "Dirección"), ("María", "Gómez Ibáñez", "Contabilidad"),
        ("Íñigo", "Núñez", "Logística"), ("Begoña", "Sánchez", "Atención al cliente"),
    ], "Muñoz"),
    "Italian": ("cp1252", ("Nome", "Cognome", "Reparto"), [
        ("Niccolò", "Rossi", "Qualità"), ("Lucia", "Fabbrì", "Amministrazione"),
        ("Mattia", "Bianchi", "Attività commerciali"), ("Chiara", "Esposito", "Città di Castello"),
    ], "Città"),
    "Polish": ("cp1250", ("Imię", "Nazwisko", "Dział"), [
        ("Łukasz", "Wróbel", "Księgowość"), ("Małgorzata", "Wąsik", "Zarząd"),
        ("Paweł", "Żółkiewski", "Sprzedaż"), ("Agnieszka", "Dąbrowska", "Kadry i płace"),
    ], "Łukasz"),
    "Czech": ("cp1250", ("Jméno", "Příjmení", "Oddělení"), [
        ("Jiří", "Dvořák", "Účetnictví"), ("Věra", "Černá", "Obchodní oddělení"),
        ("Tomáš", "Šťastný", "Řízení jakosti"), ("Zdeněk", "Novák", "Personální"),
    ], "Dvořák"),
    "Hungarian": ("cp1250", ("Keresztnév", "Vezetéknév", "Osztály"), [
        ("Zoltán", "Őrsi", "Pénzügy"), ("Ildikó", "Kovács", "Értékesítés"),
        ("Gyöngyi", "Szűcs", "Ügyfélszolgálat"), ("Ödön", "Horváth", "Műszaki osztály"),
    ], "Szűcs"),
    "Turkish": ("cp1254", ("Ad", "Soyad", "Departman"), [
        ("Şükrü", "Öztürk", "Muhasebe"), ("Ayşe", "Yılmaz", "İnsan Kaynakları"),
        ("Işık", "Çelik", "Satış"), ("Gülşen", "Doğan", "Üretim"),
    ], "Işık"),
    "Lithuanian": ("cp1257", ("Vardas", "Pavardė", "Skyrius"), [
        ("Žydrūnas", "Ščiūkas", "Apskaita"), ("Rūta", "Žemaitienė", "Pardavimų skyrius"),
        ("Aušra", "Kęstutienė", "Personalas"), ("Jonas", "Petrauskas", "Gamyba"),
    ], "Žydrūnas"),
    "Latvian": ("cp1257", ("Vārds", "Uzvārds", "Nodaļa"), [
        ("Jānis", "Bērziņš", "Grāmatvedība"), ("Līga", "Ozoliņa", "Pārdošana"),
        ("Andris", "Kalniņš", "Personāla daļa"), ("Ģirts", "Ķēniņš", "Ražošana"),
    ], "Bērziņš"),
    "Greek": ("cp1253", ("Όνομα", "Επώνυμο", "Τμήμα"), [
        ("Γιώργος", "Παπαδόπουλος", "Λογιστήριο"), ("Μαρία", "Οικονόμου", "Πωλήσεις"),
        ("Νίκος", "Γεωργίου", "Ανθρώπινο δυναμικό"), ("Ελένη", "Δημητρίου", "Διοίκηση"),
    ], "Νίκος"),
    "Russian": ("cp1251", ("Имя", "Фамилия", "Отдел"), [
        ("Иван", "Петров", "Бухгалтерия"), ("Наталья", "Смирнова", "Отдел продаж"),
        ("Сергей", "Кузнецов", "Служба качества"), ("Ольга", "Ёлкина", "Отдел кадров"),
    ], "Иван"),
    "Ukrainian": ("cp1251", ("Ім'я", "Прізвище", "Відділ"), [
        ("Олексій", "Шевченко", "Бухгалтерія"), ("Ганна", "Коваленко", "Відділ продажів"),
        ("Юрій", "Ґудзь", "Служба якості"), ("Ірина", "Їжакевич", "Відділ кадрів"),
    ], "Їжакевич"),
}

# Other code pages F1 names, each with a sheet of the language it is used for.
OTHER_CODE_PAGES = {
    "koi8_r": "Russian", "koi8_u": "Ukrainian", "iso8859_2": "Polish", "mac_roman": "German",
    "iso8859_7": "Greek", "iso8859_13": "Lithuanian", "iso8859_15": "French",
}


def sheet_text(language: str) -> str:
    """The whole users sheet, `;`-separated, CRLF line ends as Excel writes them."""
    _codec, (first, last, dept), rows, _short = SHEETS[language]
    lines = [HEADER.format(first=first, last=last, dept=dept)]
    for i, (f, la, d) in enumerate(rows, 1):
        lines.append(f"user{i};user{i}@example.com;{f};{la};{d}")
    return "\r\n".join(lines) + "\r\n"


def short_text(language: str) -> str:
    """One row, one non-ASCII name, an ASCII header."""
    return f"Login;Name\r\njdoe;{SHEETS[language][3]}\r\n"
