#!/usr/bin/env python3
"""Regenerate the tui_sync demo data set. Deterministic: every run writes the same files.

    .venv/bin/python sample_data/generate.py

Writes, next to this script (paths in the config are relative to its folder):

    departments.csv             HR departments sheet (UTF-8, comma separated)
    users.xlsx                  HR users sheet, one sheet "Users", every cell a string
    prior/lms_departments.csv   the demo LMS before the first sync (`tui-sync lms load` vocabulary)
    prior/lms_users.csv
    prior/managed.csv           the ledger of an earlier sync: `entity,key` of every managed object
    tui-sync.toml               the demo configuration
    README.md                   what is in the data, with the sheet row of every deliberate case

The company: Nordlicht Logistics GmbH (code 001), HQ in Berlin (BER, and the central
functions with legacy numeric codes 007, 010, 011, 012, 020), offices in Munich (MUC),
Moscow (MOW), St Petersburg (LED) and London (LON); 33 department rows over 4 levels and
about 300 people with German, Russian (Cyrillic) and English names.

DELIBERATE DIFFERENCES between the sheets and the prior LMS (rules: DESIGN.md §1).
Everything else in the sheets matches the prior LMS exactly (no change).

Departments
  create_department  BER-ESG "Sustainability" (under BER); LON-ECOM "E-Commerce" (under LON);
                     LON-ECOM-MKT "Online Marketing" (under the new LON-ECOM: parents first)
  update_department  BER-IT-DEV renamed "Software Development" -> "Software Engineering";
                     MUC-FLT "Fleet Management" moved from parent MUC to BER-OPS
  delete_department  BER-MAIL "Mail Room": managed, no longer in the sheet, empty -> deletable
                     MOW-CUS: managed, gone from the sheet, still holds the managed pavel.egorov
                       (inactivated, but still there) and the unmanaged contractor ext.d.fedorov
                       -> blocked: department_has_users (D5)
                     BER-ACAD "Nordlicht Academy": managed, gone; its two users move to 020 in
                       this plan, but the hand-made TRAINING-EXT stays under it
                       -> blocked: department_has_children (D5)
  untouched          TRAINING-EXT (made by hand in the LMS, not managed; D4)
  error              LON-LEGAL: parent code LON-HQ exists nowhere -> unknown_parent (D3)
  not mapped         the "Dept key" column (a unique key, present but not in the mapping)

Users (sheet logins; see USER_CASES below for every field)
  create_user (15)   lea.sommer, oliver.bennett, chloe.evans (heads of the new departments),
                     mia.schaefer, harry.wilson, noah.patel, niklas.goertz,
                     elena.kuznetsova, artem.vasilev, lukas.weiss, sophie.turner, marie.gross,
                     felix.braun (+ warning unknown_supervisor "a.smirnov"), darya.pavlova,
                     jan.kraemer
  update_user (22)   jobTitle: thomas.berger, mariya.fedorova, grace.taylor
                     phone: nina.schuster, nikolay.zaytsev, ben.carter (cleared, U8)
                     department: heike.brandt, paul.vogt (BER-ACAD -> 020),
                       lucy.green (LON-SAL -> the new LON-ECOM under the new oliver.bennett;
                       new title, functional manager cleared),
                       markus.wagner (MUC-DISP -> BER-OPS-OUT, transfer to Berlin)
                     lastName (marriage): laura.schmitz (Schmitz -> Keller),
                       anna.ivanova (Иванова -> Белова)
                     firstName: juergen.fuchs ("Juergen" -> "Jürgen")
                     login changed, email kept: jwagner -> julia.wagner (matched by email)
                     email changed, login kept: oleg.petrov (o.petrov@ -> oleg.petrov@; by login)
                     email case only: tom.harris (tom.harris@ -> Tom.Harris@)
                     status inactive -> terminated: rainer.koch ("Employment ended")
                     custom Grade B1 -> B2: svenja.krause; custom "Hire date": dmitriy.nikolaev
                     supervisor: andreas.huber (head of the moved MUC-FLT: florian.bauer ->
                       frank.zimmermann); carina.lang (explicit -> blank = inherited, U7)
                     functional manager set: katja.sauer (-> claudia.neumann)
  inactivate_user (7) removed from the sheet: klaus.richter, hannah.wright, martin.schulte,
                     svetlana.mikhaylova, pavel.egorov (the one left in MOW-CUS);
                     status column: ralf.dietrich ("inactive"), yuliya.orlova ("Employment ended")
  reactivate_user (2) kerstin.vogel (blank status), alina.grigoreva ("active")
  no change          werner.haas (managed, removed, already inactive); helga.schubert (sheet
                     "inactive", LMS inactive); viktor.zuev ("Employment ended", LMS terminated)
  errors (7 rows)    stefanie.ott: blank E-mail -> missing_value (still "points": not inactivated)
                     lena.roth (new): "lena.roth(at)nordlicht.example" -> invalid_email
                     bernd.kaiser: Department code "7" (Excel ate the zeros of 007)
                       -> unknown_department (not inactivated)
                     max.mueller on two rows (existing Berlin Max Müller + a new Munich Max
                       Müller) -> duplicate_login on both; the existing one is not inactivated
                     andrea.wolf: Status "on leave" -> invalid_status
                     (+ LON-LEGAL unknown_parent in the departments sheet)
  warnings (2)       felix.braun: Supervisor "a.smirnov" -> unknown_supervisor (inherited);
                     olga.novikova supervises herself -> self_supervision (LMS: inherited already)
  untouched          unmanaged LMS users: lms.admin (root department), contractors
                     ext.k.lindqvist (TRAINING-EXT), ext.d.fedorov (MOW-CUS), ext.j.brown (LON-CS),
                     ext.a.yilmaz (BER-IT-OPS)
  not mapped         the "Personnel no." column (six digits with leading zeros)

Supervisors: every department head supervises the staff of their department and reports to
the head of the parent department; a few staff rows leave Supervisor blank (inherited).
Functional managers: the Group Sales head for the offices' sales staff, the Warehouse
Operations director for the offices' warehouses and port, the CFO for Moscow accounting.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
SEED = 20251125
DOMAIN = "nordlicht.example"

NEW = None  # a case's `prior`: the person is not in the LMS yet
REMOVED = None  # a case's `sheet`: the person is no longer in the sheet

# ---------------------------------------------------------------------------
# Departments
# ---------------------------------------------------------------------------

# The HR departments sheet: code, name, parent code, Dept key. Written sorted by code (as HR
# exports it), so children with numeric codes come before their parents.
DEPARTMENTS: list[tuple[str, str, str, str]] = [
    ("001", "Nordlicht Logistics GmbH", "", "NL-1000"),
    ("BER", "Berlin Headquarters", "001", "NL-1100"),
    ("007", "Corporate Security", "BER", "NL-1107"),
    ("010", "Finance & Controlling", "BER", "NL-1110"),
    ("011", "Accounts Payable", "010", "NL-1111"),
    ("012", "Controlling", "010", "NL-1112"),
    ("020", "Human Resources", "BER", "NL-1120"),
    ("BER-IT", "IT Services", "BER", "NL-1130"),
    ("BER-IT-OPS", "IT Operations", "BER-IT", "NL-1131"),
    ("BER-IT-DEV", "Software Engineering", "BER-IT", "NL-1132"),
    ("BER-OPS", "Warehouse Operations", "BER", "NL-1140"),
    ("BER-OPS-IN", "Inbound", "BER-OPS", "NL-1141"),
    ("BER-OPS-OUT", "Outbound", "BER-OPS", "NL-1142"),
    ("MUC-FLT", "Fleet Management", "BER-OPS", "NL-1243"),
    ("BER-SAL", "Group Sales & Key Accounts", "BER", "NL-1150"),
    ("BER-ESG", "Sustainability", "BER", "NL-1160"),
    ("MUC", "Munich Office", "001", "NL-1200"),
    ("MUC-SAL", "Vertrieb Süd", "MUC", "NL-1210"),
    ("MUC-WH", "Lager München", "MUC", "NL-1220"),
    ("MUC-DISP", "Disposition", "MUC", "NL-1230"),
    ("MOW", "Московский офис", "001", "NL-1300"),
    ("MOW-SAL", "Отдел продаж", "MOW", "NL-1310"),
    ("MOW-LOG", "Логистика", "MOW", "NL-1320"),
    ("MOW-FIN", "Бухгалтерия", "MOW", "NL-1330"),
    ("LED", "Филиал Санкт-Петербург", "001", "NL-1400"),
    ("LED-PORT", "Портовые операции", "LED", "NL-1410"),
    ("LED-WH", "Склад Шушары", "LED", "NL-1420"),
    ("LON", "London Office", "001", "NL-1500"),
    ("LON-SAL", "UK Sales", "LON", "NL-1510"),
    ("LON-CS", "Customer Service", "LON", "NL-1520"),
    ("LON-ECOM", "E-Commerce", "LON", "NL-1530"),
    ("LON-ECOM-MKT", "Online Marketing", "LON-ECOM", "NL-1531"),
    ("LON-LEGAL", "Legal & Compliance UK", "LON-HQ", "NL-1540"),  # unknown_parent
]
NEW_DEPARTMENTS = ("BER-ESG", "LON-ECOM", "LON-ECOM-MKT")  # not in the LMS yet
ERROR_DEPARTMENTS = ("LON-LEGAL",)  # rows with errors: never in the LMS
# How the prior LMS differs for departments that are in the sheet.
PRIOR_DEPARTMENT_OVERRIDES = {
    "BER-IT-DEV": {"name": "Software Development"},  # renamed in HR
    "MUC-FLT": {"parentCode": "MUC"},  # moved in HR
}
# Managed LMS departments that HR removed from the sheet.
REMOVED_DEPARTMENTS = [
    ("BER-MAIL", "Mail Room", "BER"),  # empty -> delete_department
    ("BER-ACAD", "Nordlicht Academy", "BER"),  # keeps a hand-made child -> department_has_children
    ("MOW-CUS", "Таможенное оформление", "MOW"),  # keeps users -> department_has_users
]
# LMS departments made by hand (never managed by the sync).
UNMANAGED_DEPARTMENTS = [
    ("TRAINING-EXT", "External Trainings", "BER-ACAD"),
]

# (outcome, problem, rule, code, note) for the README; tests/engine/test_sample_cases.py checks them against the plan.
DEPARTMENT_CASES = [
    ("create_department", "", "D3", "BER-ESG", "new department under BER"),
    ("create_department", "", "D3", "LON-ECOM", "new department under LON"),
    ("create_department", "", "D3", "LON-ECOM-MKT", "new, under the new LON-ECOM (parent created first)"),
    ("update_department", "", "D2", "BER-IT-DEV", 'renamed: "Software Development" → "Software Engineering"'),
    ("update_department", "", "D3", "MUC-FLT", "moved: parent MUC → BER-OPS"),
    ("delete_department", "", "D4", "BER-MAIL", "managed, gone from the sheet, empty → deletable"),
    ("delete_department", "department_has_users", "D5", "MOW-CUS",
     "gone from the sheet; still holds pavel.egorov (managed, inactivated) and ext.d.fedorov (unmanaged)"),
    ("delete_department", "department_has_children", "D5", "BER-ACAD",
     "gone from the sheet; its users move to 020, but the hand-made TRAINING-EXT stays under it"),
    ("—", "", "D4", "TRAINING-EXT", "hand-made in the LMS, not managed → never touched"),
    ("—", "unknown_parent", "D3", "LON-LEGAL", "parent code LON-HQ exists nowhere → no change"),
]

# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

# Department heads: code -> (first name, last name, job title).
HEADS: dict[str, tuple[str, str, str]] = {
    "001": ("Katharina", "Albrecht", "Chief Executive Officer"),
    "BER": ("Matthias", "Köhler", "Head of Berlin Headquarters"),
    "007": ("Jörg", "Weißmann", "Head of Corporate Security"),
    "010": ("Sabine", "Hoffmann", "Chief Financial Officer"),
    "011": ("Uwe", "Schröder", "Team Lead Accounts Payable"),
    "012": ("Annika", "Lorenz", "Head of Controlling"),
    "020": ("Birgit", "Hartmann", "Head of Human Resources"),
    "BER-IT": ("Stefan", "Krüger", "Chief Information Officer"),
    "BER-IT-OPS": ("Tobias", "Engel", "Head of IT Operations"),
    "BER-IT-DEV": ("Алексей", "Смирнов", "Head of Software Engineering"),
    "BER-OPS": ("Frank", "Zimmermann", "Director Warehouse Operations"),
    "BER-OPS-IN": ("Monika", "Baumann", "Shift Lead Inbound"),
    "BER-OPS-OUT": ("Günther", "Roß", "Shift Lead Outbound"),
    "MUC-FLT": ("Andreas", "Huber", "Fuhrparkleiter"),
    "BER-SAL": ("Claudia", "Neumann", "Head of Group Sales"),
    "BER-ESG": ("Lea", "Sommer", "Sustainability Manager"),  # new hire
    "MUC": ("Florian", "Bauer", "Niederlassungsleiter München"),
    "MUC-SAL": ("Sebastian", "Maier", "Vertriebsleiter Süd"),
    "MUC-WH": ("Josef", "Straßer", "Lagerleiter"),
    "MUC-DISP": ("Verena", "Wimmer", "Leiterin Disposition"),
    "MOW": ("Сергей", "Волков", "Директор московского офиса"),
    "MOW-SAL": ("Екатерина", "Морозова", "Руководитель отдела продаж"),
    "MOW-LOG": ("Андрей", "Козлов", "Руководитель отдела логистики"),
    "MOW-FIN": ("Наталья", "Лебедева", "Главный бухгалтер"),
    "LED": ("Михаил", "Попов", "Директор филиала"),
    "LED-PORT": ("Игорь", "Соколов", "Начальник портовых операций"),
    "LED-WH": ("Ольга", "Новикова", "Заведующая складом"),
    "LON": ("James", "Whitfield", "Head of London Office"),
    "LON-SAL": ("Emma", "Clarke", "Head of UK Sales"),
    "LON-CS": ("Priya", "Sharma", "Customer Service Manager"),
    "LON-ECOM": ("Oliver", "Bennett", "Head of E-Commerce"),  # new hire
    "LON-ECOM-MKT": ("Chloe", "Evans", "Online Marketing Manager"),  # new hire
}

# Staff (without the head) per department in the sheet, deliberate cases included.
STAFF: dict[str, int] = {
    "001": 1, "BER": 2, "007": 4, "010": 2, "011": 8, "012": 7, "020": 9,
    "BER-IT": 2, "BER-IT-OPS": 10, "BER-IT-DEV": 14, "BER-OPS": 3, "BER-OPS-IN": 22,
    "BER-OPS-OUT": 20, "MUC-FLT": 12, "BER-SAL": 9, "BER-ESG": 0,
    "MUC": 2, "MUC-SAL": 12, "MUC-WH": 20, "MUC-DISP": 8,
    "MOW": 2, "MOW-SAL": 12, "MOW-LOG": 18, "MOW-FIN": 6,
    "LED": 1, "LED-PORT": 17, "LED-WH": 13,
    "LON": 2, "LON-SAL": 11, "LON-CS": 14, "LON-ECOM": 3, "LON-ECOM-MKT": 1,
}

TITLES: dict[str, list[str]] = {
    "001": ["Executive Assistant"],
    "BER": ["Office Manager", "Receptionist"],
    "007": ["Security Officer", "Information Security Analyst"],
    "010": ["Finance Assistant", "Treasury Specialist"],
    "011": ["Accountant", "Accounts Payable Clerk"],
    "012": ["Controller", "Financial Analyst"],
    "020": ["HR Generalist", "Payroll Specialist", "Recruiter", "Learning & Development Specialist"],
    "BER-IT": ["IT Architect", "IT Project Manager"],
    "BER-IT-OPS": ["System Administrator", "IT Support Specialist", "Network Engineer"],
    "BER-IT-DEV": ["Software Developer", "Senior Software Developer", "QA Engineer", "Data Engineer"],
    "BER-OPS": ["Operations Analyst", "Quality Manager"],
    "BER-OPS-IN": ["Warehouse Operative", "Forklift Driver", "Goods Receipt Clerk"],
    "BER-OPS-OUT": ["Warehouse Operative", "Picker", "Dispatcher", "Forklift Driver"],
    "MUC-FLT": ["Berufskraftfahrer", "Fuhrparkdisponent", "Kfz-Mechatroniker"],
    "BER-SAL": ["Key Account Manager", "Sales Manager", "Sales Operations Analyst"],
    "BER-ESG": ["Sustainability Analyst"],
    "MUC": ["Büroassistenz", "Empfang"],
    "MUC-SAL": ["Außendienstmitarbeiter", "Vertriebsinnendienst", "Kundenberater"],
    "MUC-WH": ["Lagerfachkraft", "Staplerfahrer", "Kommissionierer"],
    "MUC-DISP": ["Disponent", "Tourenplaner"],
    "MOW": ["Офис-менеджер", "Секретарь"],
    "MOW-SAL": ["Менеджер по продажам", "Менеджер по работе с клиентами"],
    "MOW-LOG": ["Логист", "Водитель-экспедитор", "Кладовщик"],
    "MOW-FIN": ["Бухгалтер", "Экономист"],
    "LED": ["Офис-менеджер"],
    "LED-PORT": ["Стивидор", "Диспетчер порта", "Оператор погрузчика"],
    "LED-WH": ["Кладовщик", "Комплектовщик", "Оператор погрузчика"],
    "LON": ["Office Manager", "Executive Assistant"],
    "LON-SAL": ["Account Manager", "Business Development Manager"],
    "LON-CS": ["Customer Service Agent", "Customer Service Team Lead"],
    "LON-ECOM": ["E-Commerce Analyst", "Web Shop Developer"],
    "LON-ECOM-MKT": ["Performance Marketing Specialist"],
}

# Functional manager (coSubordination) of a department's people: the head of another department.
FUNCTIONAL: dict[str, str] = {
    "MUC-SAL": "BER-SAL", "MOW-SAL": "BER-SAL", "LON-SAL": "BER-SAL",
    "MUC-WH": "BER-OPS", "MOW-LOG": "BER-OPS", "LED-WH": "BER-OPS", "LED-PORT": "BER-OPS",
    "MOW-FIN": "010",
}

# Office of a department (by code prefix; the numeric codes are Berlin's central functions).
OFFICES = {"MUC": "Munich", "MOW": "Moscow", "LED": "St Petersburg", "LON": "London"}
# Which names each office's background staff get: (locale, weight).
OFFICE_LOCALES = {
    "Berlin": [("de", 75), ("ru", 15), ("en", 10)],
    "Munich": [("de", 90), ("ru", 5), ("en", 5)],
    "Moscow": [("ru", 100)],
    "St Petersburg": [("ru", 100)],
    "London": [("en", 85), ("de", 10), ("ru", 5)],
}

GRADES_STAFF = ["A1", "A2", "A3", "B1", "B2", "B3"]
GRADES_HEAD = ["B3", "C1", "C2", "C3"]

# ---------------------------------------------------------------------------
# Deliberate user cases
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserCase:
    outcome: str  # the change kind the plan should show for this person, or "—" (no change)
    problem: str  # the problem code on the row, or ""
    rule: str  # the DESIGN rule it demonstrates
    who: str | tuple[str, str, str, str]  # a department code (its head) or (first, last, dept, title)
    note: str
    sheet: dict[str, str] | None = field(default_factory=dict)  # overrides of the sheet row; REMOVED
    prior: dict[str, str] | None = field(default_factory=dict)  # overrides of the LMS user; NEW
    fields: tuple[str, ...] = ()  # the LMS fields the change carries (updates)


U = UserCase
USER_CASES: list[UserCase] = [
    # --- create_user: new hires (appended at the bottom of the sheet, as HR does) ---
    U("create_user", "", "U2", "BER-ESG", "head of the new BER-ESG", prior=NEW),
    U("create_user", "", "U2", "LON-ECOM", "head of the new LON-ECOM", prior=NEW),
    U("create_user", "", "U2", "LON-ECOM-MKT", "head of the new LON-ECOM-MKT; supervisor oliver.bennett (new)",
      prior=NEW),
    U("create_user", "", "U2", ("Mia", "Schäfer", "LON-ECOM-MKT", "Performance Marketing Specialist"),
      "new hire in a new department", prior=NEW),
    U("create_user", "", "U2", ("Harry", "Wilson", "LON-ECOM", "E-Commerce Analyst"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Noah", "Patel", "LON-ECOM", "Web Shop Developer"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Niklas", "Görtz", "BER-OPS-IN", "Warehouse Operative"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Елена", "Кузнецова", "MOW-LOG", "Логист"), "new hire (Cyrillic name)",
      prior=NEW),
    U("create_user", "", "U2", ("Артём", "Васильев", "MOW-SAL", "Менеджер по продажам"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Lukas", "Weiß", "MUC-WH", "Lagerfachkraft"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Sophie", "Turner", "LON-CS", "Customer Service Agent"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Marie", "Groß", "020", "Recruiter"), "new hire", prior=NEW),
    U("create_user", "unknown_supervisor", "U7", ("Felix", "Braun", "BER-IT-DEV", "Software Developer"),
      'new hire; Supervisor "a.smirnov" is nobody → warning, link inherited',
      sheet={"subordination": "a.smirnov"}, prior=NEW),
    U("create_user", "", "U2", ("Дарья", "Павлова", "LED-PORT", "Диспетчер порта"), "new hire", prior=NEW),
    U("create_user", "", "U2", ("Jan", "Krämer", "BER-IT-OPS", "IT Support Specialist"), "new hire", prior=NEW),
    # --- update_user ---
    U("update_user", "", "U8", ("Thomas", "Berger", "012", "Senior Controller"), "promotion",
      prior={"jobTitle": "Controller"}, fields=("jobTitle",)),
    U("update_user", "", "U8", ("Мария", "Федорова", "MOW-SAL", "Старший менеджер по продажам"), "promotion",
      prior={"jobTitle": "Менеджер по продажам"}, fields=("jobTitle",)),
    U("update_user", "", "U8", ("Grace", "Taylor", "LON-SAL", "Key Account Manager"), "promotion",
      prior={"jobTitle": "Account Manager"}, fields=("jobTitle",)),
    U("update_user", "", "U8", ("Nina", "Schuster", "MUC-DISP", "Disponent"), "new phone number",
      sheet={"phone": "+49 89 5550188"}, prior={"phone": "+49 89 5550123"}, fields=("phone",)),
    U("update_user", "", "U8", ("Николай", "Зайцев", "LED-PORT", "Стивидор"), "new phone number",
      sheet={"phone": "+7 812 555-77-01"}, prior={"phone": "+7 812 555-01-23"}, fields=("phone",)),
    U("update_user", "", "U8", ("Ben", "Carter", "LON-CS", "Customer Service Agent"),
      "Phone cell blank → the phone is cleared",
      sheet={"phone": ""}, prior={"phone": "+44 20 7946 0321"}, fields=("phone",)),
    U("update_user", "", "U4", ("Heike", "Brandt", "020", "Learning & Development Specialist"),
      "moves out of the dissolved BER-ACAD", prior={"departmentId": "BER-ACAD"}, fields=("departmentId",)),
    U("update_user", "", "U4", ("Paul", "Vogt", "020", "Learning & Development Specialist"),
      "moves out of the dissolved BER-ACAD", prior={"departmentId": "BER-ACAD"}, fields=("departmentId",)),
    U("update_user", "", "U4", ("Lucy", "Green", "LON-ECOM", "E-Commerce Analyst"),
      "moves into the new LON-ECOM under its new head; functional manager dropped",
      prior={"departmentId": "LON-SAL", "subordination": "emma.clarke", "coSubordination": "claudia.neumann",
             "jobTitle": "Account Manager"},
      fields=("departmentId", "subordination", "coSubordination", "jobTitle")),
    U("update_user", "", "U4", ("Markus", "Wagner", "BER-OPS-OUT", "Dispatcher"),
      "transfer Munich → Berlin: department, supervisor, phone, title",
      sheet={"phone": "+49 30 5550142"},
      prior={"departmentId": "MUC-DISP", "subordination": "verena.wimmer", "phone": "+49 89 5550142",
             "jobTitle": "Disponent"},
      fields=("departmentId", "subordination", "phone", "jobTitle")),
    U("update_user", "", "U8", ("Laura", "Schmitz", "BER-SAL", "Sales Manager"),
      "married: last name Schmitz → Keller, login and email kept",
      sheet={"lastName": "Keller"}, fields=("lastName",)),
    U("update_user", "", "U8", ("Анна", "Иванова", "MOW-FIN", "Бухгалтер"),
      "married: last name Иванова → Белова, login and email kept",
      sheet={"lastName": "Белова"}, fields=("lastName",)),
    U("update_user", "", "U8", ("Jürgen", "Fuchs", "BER-OPS-OUT", "Forklift Driver"),
      'first name spelling fixed: "Juergen" → "Jürgen"', prior={"firstName": "Juergen"}, fields=("firstName",)),
    U("update_user", "", "U2", ("Julia", "Wagner", "BER-SAL", "Key Account Manager"),
      "login changed jwagner → julia.wagner, email kept → matched by email",
      prior={"login": "jwagner"}, fields=("login",)),
    U("update_user", "", "U2", ("Олег", "Петров", "MOW-LOG", "Логист"),
      "email changed o.petrov@ → oleg.petrov@, login kept → matched by login",
      prior={"email": f"o.petrov@{DOMAIN}"}, fields=("email",)),
    U("update_user", "", "§1", ("Tom", "Harris", "LON-CS", "Customer Service Team Lead"),
      "email differs in case only (Tom.Harris@) → still an update of the spelling",
      sheet={"email": f"Tom.Harris@{DOMAIN}"}, fields=("email",)),
    U("update_user", "", "U5", ("Rainer", "Koch", "BER-OPS-IN", "Forklift Driver"),
      'inactive → "Employment ended" (terminated): an update, not an inactivation',
      sheet={"status": "Employment ended"}, prior={"status": "inactive"}, fields=("status",)),
    U("update_user", "", "U1", ("Svenja", "Krause", "BER-IT-OPS", "Network Engineer"),
      "custom field Grade B1 → B2", sheet={"Grade": "B2"}, prior={"Grade": "B1"}, fields=("Grade",)),
    U("update_user", "", "U1", ("Дмитрий", "Николаев", "MOW-LOG", "Водитель-экспедитор"),
      'custom field "Hire date" corrected 2019-04-01 → 2019-04-15',
      sheet={"Hire date": "2019-04-15"}, prior={"Hire date": "2019-04-01"}, fields=("Hire date",)),
    U("update_user", "", "U7", "MUC-FLT",
      "head of the moved MUC-FLT now reports to the head of BER-OPS (florian.bauer → frank.zimmermann)",
      prior={"subordination": "florian.bauer"}, fields=("subordination",)),
    U("update_user", "", "U7", ("Carina", "Lang", "BER-OPS-IN", "Goods Receipt Clerk"),
      "Supervisor cell blank → inherited (was monika.baumann)",
      sheet={"subordination": ""}, fields=("subordination",)),
    U("update_user", "", "U7", ("Katja", "Sauer", "MUC-SAL", "Kundenberaterin"),
      "functional manager set (was none): claudia.neumann",
      prior={"coSubordination": ""}, fields=("coSubordination",)),
    # --- inactivate_user ---
    U("inactivate_user", "", "U6", ("Klaus", "Richter", "011", "Accountant"), "left: gone from the sheet",
      sheet=REMOVED, fields=("status",)),
    U("inactivate_user", "", "U6", ("Hannah", "Wright", "LON-CS", "Customer Service Agent"),
      "left: gone from the sheet", sheet=REMOVED, fields=("status",)),
    U("inactivate_user", "", "U6", ("Martin", "Schulte", "MUC-WH", "Staplerfahrer"), "left: gone from the sheet",
      sheet=REMOVED, fields=("status",)),
    U("inactivate_user", "", "U6", ("Светлана", "Михайлова", "LED-WH", "Кладовщик"), "left: gone from the sheet",
      sheet=REMOVED, fields=("status",)),
    U("inactivate_user", "", "U6", ("Павел", "Егоров", "MOW-CUS", "Специалист по таможенному оформлению"),
      "left with the dissolved MOW-CUS; stays in it (→ department_has_users)", sheet=REMOVED, fields=("status",)),
    U("inactivate_user", "", "U5", ("Ralf", "Dietrich", "007", "Security Officer"), 'Status "inactive"',
      sheet={"status": "inactive"}, fields=("status",)),
    U("inactivate_user", "", "U5", ("Юлия", "Орлова", "MOW-LOG", "Кладовщик"), 'Status "Employment ended"',
      sheet={"status": "Employment ended"}, fields=("status",)),
    # --- reactivate_user ---
    U("reactivate_user", "", "U6", ("Kerstin", "Vogel", "BER-OPS-OUT", "Picker"),
      "back from parental leave: Status blank, LMS inactive", prior={"status": "inactive"}, fields=("status",)),
    U("reactivate_user", "", "U5", ("Алина", "Григорьева", "MOW-FIN", "Экономист"),
      'back: Status "active", LMS inactive', sheet={"status": "active"}, prior={"status": "inactive"},
      fields=("status",)),
    # --- no change ---
    U("—", "", "U6", ("Werner", "Haas", "BER-OPS-OUT", "Warehouse Operative"),
      "managed, gone from the sheet, already inactive → nothing to do", sheet=REMOVED, prior={"status": "inactive"}),
    U("—", "", "U5", ("Helga", "Schubert", "011", "Accountant"), 'Status "inactive", LMS inactive already',
      sheet={"status": "inactive"}, prior={"status": "inactive"}),
    U("—", "", "U5", ("Виктор", "Зуев", "MOW-LOG", "Водитель-экспедитор"),
      'Status "Employment ended", LMS terminated already',
      sheet={"status": "Employment ended"}, prior={"status": "terminated"}),
    # --- errors: the row yields no change; the LMS user it points to is not inactivated ---
    U("—", "missing_value", "U1", ("Stefanie", "Ott", "020", "Payroll Specialist"),
      "E-mail cell blank", sheet={"email": ""}),
    U("—", "invalid_email", "U9", ("Lena", "Roth", "BER-SAL", "Sales Operations Analyst"),
      'new hire, E-mail "lena.roth(at)nordlicht.example"',
      sheet={"email": "lena.roth(at)nordlicht.example"}, prior=NEW),
    U("—", "unknown_department", "U4", ("Bernd", "Kaiser", "007", "Information Security Analyst"),
      'Department code "7": the leading zeros of 007 were lost', sheet={"departmentId": "7"}),
    U("—", "duplicate_login", "U3", ("Max", "Müller", "BER-OPS-IN", "Warehouse Operative"),
      "existing user; a second row below has the same login"),
    U("—", "duplicate_login", "U3", ("Max", "Müller", "MUC-WH", "Lagerfachkraft"),
      "new hire given the login max.mueller of the Berlin Max Müller",
      sheet={"login": "max.mueller"}, prior=NEW),
    U("—", "invalid_status", "U5", ("Andrea", "Wolf", "012", "Financial Analyst"), 'Status "on leave"',
      sheet={"status": "on leave"}),
    # --- warnings ---
    U("—", "self_supervision", "U7", "LED-WH",
      "the head supervises herself → treated as inherited, which the LMS has already",
      sheet={"subordination": "olga.novikova"}, prior={"subordination": ""}),
]

# LMS users that the sync never managed (not in the ledger): never touched.
UNMANAGED_USERS: list[dict[str, str]] = [
    {"login": "lms.admin", "email": f"lms.admin@{DOMAIN}", "firstName": "LMS", "lastName": "Administrator",
     "departmentId": "", "jobTitle": "LMS administrator"},
    {"login": "ext.k.lindqvist", "email": "k.lindqvist@trainpartner.example", "firstName": "Karin",
     "lastName": "Lindqvist", "departmentId": "TRAINING-EXT", "jobTitle": "External Trainer"},
    {"login": "ext.d.fedorov", "email": "d.fedorov@customs-broker.example", "firstName": "Дмитрий",
     "lastName": "Фёдоров", "departmentId": "MOW-CUS", "jobTitle": "Таможенный брокер (подрядчик)"},
    {"login": "ext.j.brown", "email": "j.brown@staffing.example", "firstName": "Jack", "lastName": "Brown",
     "departmentId": "LON-CS", "jobTitle": "Contractor, Customer Service"},
    {"login": "ext.a.yilmaz", "email": "a.yilmaz@it-services.example", "firstName": "Ayşe", "lastName": "Yılmaz",
     "departmentId": "BER-IT-OPS", "jobTitle": "Contractor, IT Support"},
]

# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

NAMES = {
    "de": {
        "m": "Lukas Jonas Leon Felix Maximilian Paul Elias Tim Jan Niklas Moritz Fabian Tobias Philipp "
             "Christian Michael Thomas Stefan Andreas Markus Jürgen Dieter Björn Sören Jörg Uwe Ralf Horst "
             "Bernd Frank Oliver Sebastian Dominik Kai Till Malte Hans-Peter Karl-Heinz".split(),
        "f": "Anna Lena Laura Julia Sarah Lea Hannah Sophie Katharina Sabine Petra Claudia Monika Susanne "
             "Andrea Stefanie Nicole Jana Miriam Käthe Lina Johanna Franziska Vanessa Carolin Tanja Ute "
             "Gisela Bärbel Renate Ines Silke Maren Anne-Marie".split(),
        "last": "Müller Schmidt Schneider Fischer Weber Meyer Becker Schulz Hoffmann Schäfer Bauer Klein "
                "Schröder Neumann Schwarz Zimmermann Krüger Hofmann Lange Schmitt Werner Meier Lehmann "
                "Schmid Schulze Köhler Herrmann König Walter Mayer Peters Scholz Möller Weiß Jung Hahn "
                "Friedrich Günther Frank Winkler Beck Franke Simon Ludwig Böhm Winter Kraus Schumacher "
                "Stein Jäger Otto Seidel Heinrich Schreiber Graf Ziegler Kuhn Kühn Pohl Horn Busch Bergmann "
                "Voigt Arnold Wolff Pfeiffer Strauß Große Nußbaum Rößler Meyer-Landrut Gärtner Öztürk".split(),
    },
    "ru": {
        "m": "Александр Алексей Андрей Дмитрий Сергей Иван Михаил Николай Павел Евгений Максим Владимир "
             "Артём Кирилл Роман Егор Илья Олег Юрий Константин Виктор Григорий Тимофей Фёдор".split(),
        "f": "Анна Мария Елена Ольга Наталья Татьяна Екатерина Ирина Светлана Юлия Анастасия Дарья Ксения "
             "Алина Полина Виктория Вера Людмила Софья Алёна".split(),
        "last": "Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов Волков Алексеев Лебедев "
                "Семёнов Павлов Козлов Степанов Орлов Андреев Макаров Никитин Захаров Соловьёв Борисов "
                "Яковлев Романов Воробьёв Сергеев Кузьмин Фролов Дмитриев Королёв Гусев Киселёв Ильин "
                "Максимов Поляков Сорокин Виноградов Ковалёв Медведев Антонов Тарасов Жуков Баранов "
                "Филиппов Комаров Давыдов Беляев Богданов Осипов Сидоров Титов Крылов Карпов Власов "
                "Мельников Вишневский Добровольский Калинин Щербаков".split(),
    },
    "en": {
        "m": "James Oliver Harry George Jack Charlie William Daniel Samuel Joseph Henry Benjamin Alexander "
             "Ethan Liam Ryan Adam Matthew David Michael Christopher Andrew Mark Richard Aidan Rohan Arjun".split(),
        "f": "Olivia Amelia Isla Ava Emily Sophia Lily Freya Ella Charlotte Isabella Jessica Sarah Rebecca "
             "Hannah Megan Eleanor Zoe Niamh Aisha Siobhan".split(),
        "last": "Smith Jones Williams Brown Davies Thomas Johnson Roberts Robinson Thompson Walker White "
                "Edwards Hughes Hall Lewis Jackson Wood Martin Cooper Hill Ward Morris Moore Clark Lee King "
                "Baker Harrison Morgan Allen Scott Phillips Watson Davis Parker Price Young Griffiths "
                "Mitchell Kelly Cook Richardson Bailey Collins Bell Shaw Murphy Miller Cox Khan Marshall "
                "Anderson Simpson Ellis Adams Singh Foster Chapman Powell Webb O'Brien O'Connor".split(),
    },
}

TRANSLIT = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ş": "s", "ı": "i",
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}


def slug(text: str) -> str:
    """ASCII for logins: umlauts as ae/oe/ue, ß as ss, Cyrillic transliterated."""
    out = "".join(TRANSLIT.get(ch, ch) for ch in text.lower())
    return "".join(ch for ch in out if ch.isascii() and (ch.isalnum() or ch == "-"))


def feminine(last: str) -> str:
    """The feminine form of a Russian surname (Иванов → Иванова, Вишневский → Вишневская)."""
    if last.endswith("ский"):
        return last[:-4] + "ская"
    if last.endswith(("ов", "ев", "ёв", "ин")):
        return last + "а"
    return last


# ---------------------------------------------------------------------------
# Building the data
# ---------------------------------------------------------------------------

# Internal person fields are the LMS field names (custom fields by their mapping keys).
USER_FIELDS = ["login", "email", "firstName", "lastName", "departmentId", "status", "subordination",
               "coSubordination", "phone", "jobTitle", "Grade", "Hire date"]
# The users sheet: column name -> field ("Personnel no." is not mapped).
SHEET_COLUMNS = [
    ("Personnel no.", "pno"), ("Last name", "lastName"), ("First name", "firstName"), ("Login", "login"),
    ("E-mail", "email"), ("Department code", "departmentId"), ("Job title", "jobTitle"),
    ("Status", "status"), ("Supervisor", "subordination"), ("Functional manager", "coSubordination"),
    ("Phone", "phone"), ("Grade", "Grade"), ("Hire date", "Hire date"),
]
STATUS_TO_LMS = {"": "active", "active": "active", "inactive": "inactive",
                 "employment ended": "terminated", "terminated": "terminated"}


@dataclass
class Person:
    base: dict[str, str]  # the row as it "should" be; sheet and prior derive from it
    head: bool = False
    inherit: bool = False  # background staff with a blank Supervisor cell
    case: UserCase | None = None
    sheet: dict[str, str] | None = None
    prior: dict[str, str] | None = None


def office_of(code: str) -> str:
    return OFFICES.get(code.split("-")[0], "Berlin")


def phone_number(rng: random.Random, office: str) -> str:
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    return {
        "Berlin": lambda: f"+49 30 {rng.randint(2, 9)}{d(6)}",
        "Munich": lambda: f"+49 89 {rng.randint(2, 9)}{d(6)}",
        "Moscow": lambda: f"+7 495 {rng.randint(2, 9)}{d(2)}-{d(2)}-{d(2)}",
        "St Petersburg": lambda: f"+7 812 {rng.randint(2, 9)}{d(2)}-{d(2)}-{d(2)}",
        "London": lambda: f"+44 20 7{d(3)} {d(4)}",
    }[office]()


def hire_date(rng: random.Random, new: bool) -> str:
    if new:
        start, days = dt.date(2025, 11, 3), 90
    else:
        start, days = dt.date(2006, 1, 1), (dt.date(2025, 6, 30) - dt.date(2006, 1, 1)).days
    return (start + dt.timedelta(days=rng.randrange(days))).isoformat()


class Directory:
    """Everyone: heads, the deliberate cases and the background staff, in creation order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: list[Person] = []
        self.logins: set[str] = {u["login"] for u in UNMANAGED_USERS}
        self.pnos: set[str] = set()
        self.heads: dict[str, Person] = {}

    def free_login(self, first: str, last: str, suffix_ok: bool) -> str | None:
        login = f"{slug(first)}.{slug(last)}"
        n = 2
        while login in self.logins:
            if not suffix_ok:
                return None
            login, n = f"{slug(first)}.{slug(last)}{n}", n + 1
        return login

    def add(self, first: str, last: str, dept: str, title: str, *, login: str, head: bool = False,
            new: bool = False) -> Person:
        rng = self.rng
        self.logins.add(login)
        pno = f"{rng.randrange(1, 100000):06d}"
        while pno in self.pnos:
            pno = f"{rng.randrange(1, 100000):06d}"
        self.pnos.add(pno)
        base = {
            "pno": pno, "login": login, "email": f"{login}@{DOMAIN}", "firstName": first, "lastName": last,
            "departmentId": dept, "status": "", "subordination": "", "coSubordination": "",
            "phone": "" if rng.random() < 0.06 else phone_number(rng, office_of(dept)),
            "jobTitle": title, "Grade": rng.choice(GRADES_HEAD if head else GRADES_STAFF),
            "Hire date": hire_date(rng, new),
        }
        person = Person(base, head=head)
        self.people.append(person)
        if head:
            self.heads[dept] = person
        return person

    def random_person(self, dept: str) -> Person:
        rng = self.rng
        locales, weights = zip(*OFFICE_LOCALES[office_of(dept)])
        while True:
            locale = rng.choices(locales, weights)[0]
            sex = rng.choice("mf")
            first = rng.choice(NAMES[locale][sex])
            last = rng.choice(NAMES[locale]["last"])
            if locale == "ru" and sex == "f":
                last = feminine(last)
            login = self.free_login(first, last, suffix_ok=False)
            if login:
                break
        title = rng.choice(TITLES[dept])
        person = self.add(first, last, dept, title, login=login)
        person.base["status"] = rng.choices(["", "active"], [80, 20])[0]
        person.inherit = rng.random() < 0.08
        return person


def build(rng: random.Random) -> Directory:
    people = Directory(rng)
    parents = {code: parent for code, _, parent, _ in DEPARTMENTS}
    for code, _, _, _ in sorted(DEPARTMENTS):
        if code in HEADS:
            first, last, title = HEADS[code]
            login = people.free_login(first, last, suffix_ok=False)
            people.add(first, last, code, title, login=login, head=True, new=code in NEW_DEPARTMENTS)
    for case in USER_CASES:
        if isinstance(case.who, str):
            person = people.heads[case.who]
        else:
            first, last, dept, title = case.who
            login = people.free_login(first, last, suffix_ok=True)
            person = people.add(first, last, dept, title, login=login, new=case.prior is NEW)
        person.case = case
    for dept, count in STAFF.items():
        present = sum(1 for p in people.people
                      if p.base["departmentId"] == dept and not p.head and (p.case is None or p.case.sheet is not REMOVED))
        for _ in range(count - present):
            people.random_person(dept)
    # Supervisors: staff -> their head; a head -> the head of the parent department.
    for p in people.people:
        dept = p.base["departmentId"]
        boss_dept = parents.get(dept, "") if p.head else dept
        boss = people.heads.get(boss_dept)
        if boss and not p.inherit:
            p.base["subordination"] = boss.base["login"]
        if dept in FUNCTIONAL:
            p.base["coSubordination"] = people.heads[FUNCTIONAL[dept]].base["login"]
    # The sheet row and the LMS record of everyone, with the deliberate differences.
    for p in people.people:
        case = p.case or UserCase("—", "", "", "", "")
        if case.sheet is not REMOVED:
            p.sheet = {**p.base, **case.sheet}
        if case.prior is not NEW:
            prior = {k: p.base[k] for k in USER_FIELDS}
            prior["status"] = STATUS_TO_LMS[prior["status"].lower()]
            p.prior = {**prior, **case.prior}
    return people


def sheet_order(people: Directory) -> list[Person]:
    """Existing staff sorted by department, head first, then by name; new hires appended below."""
    dept_order = {code: i for i, (code, *_rest) in enumerate(sorted(DEPARTMENTS))}
    existing = [p for p in people.people if p.sheet is not None and p.prior is not None]
    new = [p for p in people.people if p.sheet is not None and p.prior is None]
    existing.sort(key=lambda p: (dept_order[p.base["departmentId"]], not p.head,
                                 p.base["lastName"], p.base["firstName"]))
    new.sort(key=lambda p: USER_CASES.index(p.case) if p.case else len(USER_CASES))
    return existing + new


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_departments_sheet(path: Path) -> None:
    rows = [[code, name, parent, key] for code, name, parent, key in sorted(DEPARTMENTS)]
    write_csv(path, ["Code", "Department", "Parent code", "Dept key"], rows)


def write_users_sheet(path: Path, rows: list[Person]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": "Nordlicht Logistics — employees", "author": "HR",
                       "created": dt.datetime(2025, 11, 24, 8, 0, 0)})  # fixed: same bytes every run
    ws = wb.add_worksheet("Users")
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for col, (header, _) in enumerate(SHEET_COLUMNS):
        ws.write_string(0, col, header, bold)
    for r, p in enumerate(rows, start=1):
        for col, (_, key) in enumerate(SHEET_COLUMNS):
            value = p.sheet[key]
            if value != "":
                ws.write_string(r, col, value)  # text, so that 007 and 004711 keep their zeros
    widths = [13, 16, 14, 22, 32, 16, 34, 16, 20, 20, 18, 7, 11]
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(rows), len(SHEET_COLUMNS) - 1)
    wb.close()


def write_prior(folder: Path, people: Directory) -> None:
    sheet_codes = {code: (name, parent) for code, name, parent, _ in DEPARTMENTS
                   if code not in NEW_DEPARTMENTS + ERROR_DEPARTMENTS}
    departments = []
    for code, (name, parent) in sorted(sheet_codes.items()):
        over = PRIOR_DEPARTMENT_OVERRIDES.get(code, {})
        departments.append([code, over.get("name", name), over.get("parentCode", parent)])
    departments += [list(d) for d in REMOVED_DEPARTMENTS + UNMANAGED_DEPARTMENTS]
    write_csv(folder / "lms_departments.csv", ["code", "name", "parentCode"], departments)

    users = [p.prior for p in people.people if p.prior is not None]
    unmanaged = [{**dict.fromkeys(USER_FIELDS, ""), "status": "active", **u} for u in UNMANAGED_USERS]
    write_csv(folder / "lms_users.csv", USER_FIELDS, [[u[k] for k in USER_FIELDS] for u in users + unmanaged])

    managed = [["department", code] for code, *_ in departments
               if code not in {c for c, *_ in UNMANAGED_DEPARTMENTS}]
    managed += [["user", u["login"]] for u in users]
    write_csv(folder / "managed.csv", ["entity", "key"], managed)


CONFIG = '''\
# tui-sync configuration for the Nordlicht Logistics demo (DESIGN.md §2).
# Relative paths are relative to the folder of this file. Secrets are never written here
# as plain text: use { env = "NAME" }, { file = "path" } (readable by its owner only), or
# store them from the UI (kept in .tui-sync/ with mode 0600).

# The LMS to keep in step. "local" is the embedded SQLite LMS (demos, tests, rehearsals).
[lms]
kind = "local"
path = "lms.sqlite"
# For iSpring Learn instead:
# kind = "ispring"
# base_url = "https://api-learn.ispringlearn.com"   # the default
# client_id = "…"
# client_secret = { env = "ISPRING_CLIENT_SECRET" }
# (or the legacy style: account_url = "https://myco.ispringlearn.com",
#  login = "admin", password = { env = "ISPRING_PASSWORD" })
# requests_per_second = 5                            # the default

# Where HR's departments sheet comes from: a local file, a URL or a Google Sheet.
[departments.source]
kind = "file"
path = "departments.csv"
# encoding = "auto"      # a BOM, then UTF-8, then the likeliest code page (guessed: a warning); or any Python codec name
# delimiter = "auto"     # , ; tab |
# A file on a web server (XLSX or CSV), optionally behind a username and password:
# kind = "url"
# url = "https://files.nordlicht.example/hr/org.xlsx"
# sheet = "Departments"
# username = "hr-sync"
# password = { env = "HR_FILE_PASSWORD" }
# A Google Sheet, read with a service account that the sheet is shared with:
# kind = "google_sheets"
# url = "https://docs.google.com/spreadsheets/d/…/edit#gid=0"
# service_account = { file = "service-account.json" }

# LMS field = "column name in the sheet". code and name are required; codes are text
# (007 stays 007). The sheet's "Dept key" column is deliberately not mapped: add
# departmentUniqueKey = "Dept key" to match departments by it instead of by code.
[departments.mapping]
code = "Code"
name = "Department"
parentCode = "Parent code"

# HR's users sheet: the "Users" tab of an XLSX file (url / google_sheets work as above).
[users.source]
kind = "file"
path = "users.xlsx"
sheet = "Users"

# login, email, firstName, lastName and departmentId (a department code) are required.
# subordination / coSubordination are the supervisor's and the functional manager's
# logins (a blank cell = inherited from the department). Any other key is a custom
# field of that name. "Personnel no." is deliberately not mapped (it could serve as
# userUniqueKey = "Personnel no.").
[users.mapping]
login = "Login"
email = "E-mail"
firstName = "First name"
lastName = "Last name"
departmentId = "Department code"
status = "Status"
subordination = "Supervisor"
coSubordination = "Functional manager"
phone = "Phone"
jobTitle = "Job title"
Grade = "Grade"
"Hire date" = "Hire date"

# Unattended runs (`tui-sync daemon`): up to three times a day, in this time zone.
[schedule]
times = ["07:00", "13:00", "19:00"]
timezone = "Europe/Berlin"

# What an unattended run may do by itself. Changes of the `review` kinds wait for a person;
# destructive changes are also held when there are too many of them, or when a sheet
# suddenly has far fewer rows than in the last completed run.
[policy]
review = ["inactivate_user", "delete_department"]
max_inactivations = "10%"          # of the managed users
max_department_deletes = "10%"     # of the managed departments
max_row_drop = "20%"

# How many writes run in parallel against a network LMS.
[apply]
concurrency = 8
'''


def readme(people: Directory, rows: list[Person]) -> str:
    dept_rows = {code: i for i, (code, *_rest) in enumerate(sorted(DEPARTMENTS), start=2)}
    user_rows: dict[int, int] = {id(p): i for i, p in enumerate(rows, start=2)}

    def cell(p: Person) -> str:
        return str(user_rows[id(p)]) if id(p) in user_rows else "— (LMS only)"

    counts: dict[str, int] = {}
    lines = [
        "# Demo data: Nordlicht Logistics GmbH",
        "",
        "Generated by `generate.py` (deterministic; edit the tables there and rerun",
        "`.venv/bin/python sample_data/generate.py`, never these files by hand).",
        "",
        "| file | what |",
        "|---|---|",
        f"| `departments.csv` | HR departments sheet: {len(DEPARTMENTS)} rows, columns `Code`, `Department`, "
        "`Parent code`, `Dept key` (not mapped). Sorted by code. |",
        f"| `users.xlsx` | HR users sheet (tab `Users`): {len(rows)} rows, every cell text. `Personnel no.` "
        "is not mapped; `Grade` and `Hire date` are custom fields. |",
        "| `prior/lms_departments.csv`, `prior/lms_users.csv` | the LMS before the demo's first sync "
        "(`tui-sync lms load` vocabulary) |",
        "| `prior/managed.csv` | `entity,key`: what an earlier sync manages (the ledger, L1) |",
        "| `tui-sync.toml` | the demo configuration |",
        "",
        "Everything not listed below is identical in the sheets and the LMS. Rows are",
        "spreadsheet rows (header = row 1). Keys are sheet logins / codes (LMS ones for",
        "objects no row names).",
        "",
        "## Departments (`departments.csv`)",
        "",
        "| expected change | problem | rule | code | row | what |",
        "|---|---|---|---|---|---|",
    ]
    for outcome, problem, rule, code, note in DEPARTMENT_CASES:
        row = str(dept_rows[code]) if code in dept_rows else "— (LMS only)"
        lines.append(f"| {outcome} | {problem} | {rule} | `{code}` | {row} | {note} |")
        if outcome != "—":
            counts[outcome] = counts.get(outcome, 0) + 1
    lines += ["", "## Users (`users.xlsx`)", "",
              "| expected change | problem | rule | login | row | fields | what |",
              "|---|---|---|---|---|---|---|"]
    by_case = {id(p.case): p for p in people.people if p.case}
    for case in USER_CASES:
        p = by_case[id(case)]
        login = (p.sheet or p.prior)["login"]
        fields = ", ".join(f"`{f}`" for f in case.fields)
        lines.append(f"| {case.outcome} | {case.problem} | {case.rule} | `{login}` | {cell(p)} | {fields} | "
                     f"{case.note} |")
        if case.outcome != "—":
            counts[case.outcome] = counts.get(case.outcome, 0) + 1
    unmanaged = ", ".join(f"`{u['login']}`" for u in UNMANAGED_USERS)
    lines += [
        "",
        f"Unmanaged LMS users (not in `managed.csv`, never touched): {unmanaged}; and the",
        "hand-made department `TRAINING-EXT`.",
        "",
        "## Expected plan summary",
        "",
        "| kind | count |",
        "|---|---|",
    ]
    kinds = ["create_department", "update_department", "delete_department", "create_user", "update_user",
             "inactivate_user", "reactivate_user"]
    lines += [f"| {k} | {counts.get(k, 0)} |" for k in kinds]
    errors = sum(1 for c in USER_CASES if c.problem and c.problem not in WARNINGS) + sum(
        1 for c in DEPARTMENT_CASES if c[1] and c[0] == "—")
    warnings = sum(1 for c in USER_CASES if c.problem in WARNINGS)
    lines += [
        f"| row errors (`problems`) | {errors} |",
        f"| warnings | {warnings} |",
        "",
        "Two of the three deletes are blocked by D5 (`department_has_users` on `MOW-CUS`,",
        "`department_has_children` on `BER-ACAD`): problems of those changes, on top of the row errors.",
        "The supervisor links of `chloe.evans` and `lucy.green` name `oliver.bennett`, who is created",
        "by the same plan; `lucy.green` moves into the new `LON-ECOM` (depends on its create).",
        "",
    ]
    return "\n".join(lines)


WARNINGS = ("unknown_supervisor", "self_supervision")


def main() -> None:
    rng = random.Random(SEED)
    people = build(rng)
    rows = sheet_order(people)
    write_departments_sheet(HERE / "departments.csv")
    write_users_sheet(HERE / "users.xlsx", rows)
    write_prior(HERE / "prior", people)
    (HERE / "tui-sync.toml").write_text(CONFIG, encoding="utf-8")
    (HERE / "README.md").write_text(readme(people, rows), encoding="utf-8")
    n_prior = sum(1 for p in people.people if p.prior is not None)
    print(f"departments.csv: {len(DEPARTMENTS)} rows; users.xlsx: {len(rows)} rows; "
          f"prior LMS: {n_prior + len(UNMANAGED_USERS)} users ({len(UNMANAGED_USERS)} unmanaged)")


if __name__ == "__main__":
    main()
