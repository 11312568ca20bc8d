"""A deterministic generator of a realistic school-system CSV folder (see data-format.md).

`generate_demo_data(folder, schools=2, students=60, seed=1, today=..., weeks=2)` writes the
ten files of the data contract: schools, classes, staff, students, guardians, lessons,
grades, attendance, homework and events of a made-up Ukrainian city, and returns a
`DemoSummary` with the row counts and the ids of the special cases a demo or a test needs:

* a guardian with two children in two classes of the first school (the demo parent, who
  consents); with two or more schools, another consenting guardian with a child in the
  first school and one in the second (with exactly two schools the second is the
  unlaunched one, so only the first child may be shown);
* a pupil with two consenting guardians;
* a guardian without consent (`no`);
* the last school not launched (with one school, that school is launched);
* a teacher who is also a parent: a guardian row with the same name and (differently
  spelt) phone as a staff row of the first school; the only phone shared in the folder;
* on the last school day up to `today` (today itself on a weekday), the demo parent's
  first child misses the first lessons unexcused (`absent`), all marked in the diary.

The unlaunched school still has a full diary: the launch flag alone must keep its parents
out and its absences silent.

Diary shape. `weeks` school weeks of lessons end at the last school day on or before
`today`; lessons of the next five school days follow as the published schedule (planned
topics, no marks). Lessons run Monday to Friday, 5-7 a day, on the bell times below.
Homework is due on lessons from five school days back to the end of that schedule;
events lie in the period and ahead, with at least one school event and one class's
parents' meeting tomorrow in every school.
Grades and attendance exist only for lessons up to that last school day. Some recent
lessons are left unfilled as a forgetful teacher would: about a third of the last
school day's lessons have no topic, some recent lessons no attendance at all.

Attendance has two shapes (`DemoSummary.attendance_full` says which was written):
* full: a row for every pupil of every lesson whose attendance was marked;
* marks (the default for big folders, where full rows would run to tens of millions):
  every `absent`, `late` and `excused` mark, plus one `present` row per marked lesson,
  so a marked lesson always has at least one row. A pupil without a row for a lesson
  that has rows was present; a lesson without rows was not marked.
`full_attendance=None` picks full when schools x students x weeks <= 20,000.

Speed. A city (60 schools x 667 pupils, 16 weeks: ~730,000 lessons, ~3 million grades)
is written in parallel: each school's diary has a random stream of its own
(`Random(f"{seed}/diary/{school_id}")`) and is built in a worker process, and the files
take the schools in order, so the bytes do not depend on the number of workers. The
four diary files are formatted as CSV lines directly (`csv_field` quotes exactly as
csv.writer does); the rest go through csv.writer.

The register and the events come from one `random.Random(seed)`, the diaries from their
per-school streams; files are written in a fixed order with `\\n` line ends and no set
or hash order is iterated, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

TIMEZONE = "Europe/Kyiv"
KYIV = ZoneInfo(TIMEZONE)
MIN_STUDENTS = 6  # the special cases of the first school need six seats
SMALL_FOLDER = 20_000  # schools x students x weeks: full attendance, one process
MAX_WORKERS = 4
UPCOMING_SCHOOL_DAYS = 5
HOMEWORK_PAST_SCHOOL_DAYS = 5
CLASS_SIZE = 27
TEACHER_WEEKLY_HOURS = 20

DIARY_FILES = ("lessons.csv", "grades.csv", "attendance.csv", "homework.csv")
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "schools.csv": ("school_id", "name", "launched", "timezone"),
    "classes.csv": ("class_id", "school_id", "name", "homeroom_teacher_id"),
    "staff.csv": ("staff_id", "school_id", "full_name", "phone", "role", "consent"),
    "students.csv": ("student_id", "class_id", "full_name"),
    "guardians.csv": ("guardian_id", "student_id", "full_name", "phone", "consent",
                      "consent_date", "invite_code"),
    "lessons.csv": ("lesson_id", "class_id", "subject", "teacher_id", "date", "starts_at",
                    "ends_at", "number", "topic"),
    "grades.csv": ("grade_id", "student_id", "subject", "date", "value", "kind", "teacher_id",
                   "lesson_id", "comment"),
    "attendance.csv": ("student_id", "lesson_id", "status"),
    "homework.csv": ("homework_id", "class_id", "subject", "due_date", "text", "teacher_id"),
    "events.csv": ("event_id", "school_id", "title", "starts_at", "class_id", "description"),
}

# ---------------------------------------------------------------- names

# (given name, patronymic of his son, patronymic of his daughter)
MEN: tuple[tuple[str, str, str], ...] = (
    ("Олександр", "Олександрович", "Олександрівна"), ("Андрій", "Андрійович", "Андріївна"),
    ("Сергій", "Сергійович", "Сергіївна"), ("Іван", "Іванович", "Іванівна"),
    ("Микола", "Миколайович", "Миколаївна"), ("Василь", "Васильович", "Василівна"),
    ("Петро", "Петрович", "Петрівна"), ("Юрій", "Юрійович", "Юріївна"),
    ("Володимир", "Володимирович", "Володимирівна"), ("Дмитро", "Дмитрович", "Дмитрівна"),
    ("Олег", "Олегович", "Олегівна"), ("Віктор", "Вікторович", "Вікторівна"),
    ("Михайло", "Михайлович", "Михайлівна"), ("Богдан", "Богданович", "Богданівна"),
    ("Ігор", "Ігорович", "Ігорівна"), ("Роман", "Романович", "Романівна"),
    ("Тарас", "Тарасович", "Тарасівна"), ("Григорій", "Григорович", "Григорівна"),
    ("Степан", "Степанович", "Степанівна"), ("Павло", "Павлович", "Павлівна"),
    ("Максим", "Максимович", "Максимівна"), ("Євген", "Євгенович", "Євгенівна"),
    ("Віталій", "Віталійович", "Віталіївна"), ("Олексій", "Олексійович", "Олексіївна"),
    ("Ярослав", "Ярославович", "Ярославівна"), ("Анатолій", "Анатолійович", "Анатоліївна"),
    ("Руслан", "Русланович", "Русланівна"), ("Костянтин", "Костянтинович", "Костянтинівна"),
    ("Артем", "Артемович", "Артемівна"), ("Денис", "Денисович", "Денисівна"),
    ("Вадим", "Вадимович", "Вадимівна"), ("Валерій", "Валерійович", "Валеріївна"),
    ("Леонід", "Леонідович", "Леонідівна"), ("Назар", "Назарович", "Назарівна"),
)
WOMEN: tuple[str, ...] = (
    "Олена", "Оксана", "Наталія", "Тетяна", "Ірина", "Світлана", "Юлія", "Марія", "Анна",
    "Катерина", "Ольга", "Людмила", "Галина", "Вікторія", "Валентина", "Надія", "Лариса",
    "Інна", "Алла", "Яна", "Марина", "Леся", "Віра", "Любов", "Христина", "Зоряна", "Ганна",
    "Лілія", "Тамара", "Софія",
)
BOYS: tuple[str, ...] = (
    "Максим", "Артем", "Олександр", "Матвій", "Назар", "Дмитро", "Марк", "Богдан", "Тимофій",
    "Іван", "Данило", "Андрій", "Михайло", "Давид", "Остап", "Ярослав", "Кирило", "Денис",
    "Владислав", "Захар", "Роман", "Тарас", "Єгор", "Ілля", "Святослав", "Олексій",
)
GIRLS: tuple[str, ...] = (
    "Софія", "Анна", "Марія", "Злата", "Дарина", "Соломія", "Мілана", "Єва", "Вероніка",
    "Анастасія", "Вікторія", "Поліна", "Олександра", "Кіра", "Аліна", "Діана", "Ксенія",
    "Юлія", "Катерина", "Уляна", "Ангеліна", "Валерія", "Христина", "Марта", "Ярослава",
    "Емілія",
)
_SAME_FOR_BOTH = (
    "Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Шевчук",
    "Поліщук", "Бойко", "Ткачук", "Мельник", "Лисенко", "Мороз", "Савченко", "Руденко",
    "Петренко", "Кузьменко", "Марченко", "Клименко", "Павленко", "Левченко", "Гончаренко",
    "Литвиненко", "Мельничук", "Ковальчук", "Кравчук", "Романенко", "Кушнір", "Харченко",
    "Сидоренко", "Захарченко", "Юрченко", "Приходько", "Карпенко", "Тимошенко", "Дяченко",
    "Остапенко", "Федоренко", "Гаврилюк", "Пономаренко", "Зінченко", "Середа", "Лук'яненко",
    "Гнатюк", "Мазур", "Коваль", "Павлюк", "Кириленко", "Яковенко", "Тарасенко", "Костенко",
    "Власенко", "Гуменюк", "Демченко", "Антоненко", "Степаненко", "Головко", "Білоус",
)
# (his form, her form)
SURNAMES: tuple[tuple[str, str], ...] = tuple((s, s) for s in _SAME_FOR_BOTH) + (
    ("Ковальський", "Ковальська"), ("Вишневський", "Вишневська"), ("Савицький", "Савицька"),
    ("Левицький", "Левицька"), ("Яворський", "Яворська"), ("Чорний", "Чорна"),
    ("Гладкий", "Гладка"), ("Стельмах", "Стельмах"), ("Заїка", "Заїка"),
)
_ALPHABET = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
_COLLATION = {ord(letter): chr(0x3000 + i) for i, letter in enumerate(_ALPHABET)}

# ---------------------------------------------------------------- school life

SCHOOL_KINDS: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("Ліцей №{n}", (5, 6, 7, 8, 9, 10, 11), 0.4),
    ("Гімназія №{n}", (5, 6, 7, 8, 9), 0.2),
    ("Загальноосвітня школа І-ІІІ ступенів №{n}", (5, 6, 7, 8, 9, 10, 11), 0.3),
    ("Спеціалізована школа І-ІІІ ступенів №{n}", (5, 6, 7, 8, 9, 10, 11), 0.1),
)
CLASS_LETTERS = "АБВГДЕЄЖ"
BELLS: tuple[tuple[str, str], ...] = (
    ("08:30", "09:15"), ("09:25", "10:10"), ("10:30", "11:15"), ("11:35", "12:20"),
    ("12:30", "13:15"), ("13:25", "14:10"), ("14:20", "15:05"),
)
CURRICULA: dict[str, tuple[tuple[str, int], ...]] = {
    "5-6": (("Українська мова", 4), ("Українська література", 2), ("Зарубіжна література", 2),
            ("Англійська мова", 3), ("Математика", 4), ("Історія України", 1),
            ("Пізнаємо природу", 2), ("Інформатика", 1), ("Мистецтво", 1), ("Технології", 1),
            ("Фізична культура", 3), ("Основи здоров'я", 1)),
    "7-9": (("Українська мова", 2), ("Українська література", 2), ("Зарубіжна література", 2),
            ("Англійська мова", 3), ("Алгебра", 2), ("Геометрія", 2), ("Історія України", 2),
            ("Всесвітня історія", 1), ("Географія", 2), ("Біологія", 2), ("Фізика", 2),
            ("Хімія", 2), ("Інформатика", 1), ("Мистецтво", 1), ("Фізична культура", 3),
            ("Основи здоров'я", 1)),
    "10-11": (("Українська мова", 2), ("Українська література", 2), ("Зарубіжна література", 1),
              ("Англійська мова", 3), ("Алгебра", 3), ("Геометрія", 2), ("Історія України", 2),
              ("Всесвітня історія", 1), ("Громадянська освіта", 1), ("Географія", 1),
              ("Біологія", 2), ("Фізика", 3), ("Хімія", 2), ("Інформатика", 2),
              ("Фізична культура", 3), ("Захист України", 2)),
}
# A teacher's speciality: the subjects one teacher gives a class.
SPECIALITY: dict[str, str] = {
    "Українська мова": "філолог", "Українська література": "філолог",
    "Зарубіжна література": "зарубіжник", "Англійська мова": "англійська",
    "Математика": "математик", "Алгебра": "математик", "Геометрія": "математик",
    "Історія України": "історик", "Всесвітня історія": "історик",
    "Громадянська освіта": "історик", "Пізнаємо природу": "біолог", "Біологія": "біолог",
    "Основи здоров'я": "біолог", "Географія": "географ", "Фізика": "фізик", "Хімія": "хімік",
    "Інформатика": "інформатик", "Мистецтво": "мистецтво", "Технології": "технології",
    "Фізична культура": "фізкультура", "Захист України": "захист",
}
MOSTLY_MEN_SPECIALITIES = ("фізкультура", "захист")

TOPICS: dict[str, tuple[str, ...]] = {
    "Українська мова": (
        "Звуки і букви. Фонетична транскрипція", "Правопис ненаголошених голосних",
        "Спрощення в групах приголосних", "Пряме і переносне значення слова",
        "Синоніми, антоніми, омоніми", "Будова слова. Корінь, префікс, суфікс",
        "Іменник як частина мови", "Прикметник. Ступені порівняння",
        "Дієприкметник і дієприкметниковий зворот", "Складносурядне речення",
        "Розвиток мовлення. Твір-опис", "Пряма і непряма мова"),
    "Українська література": (
        "Усна народна творчість. Казки", "Тарас Шевченко. «Заповіт»",
        "Іван Франко. «Фарбований лис»", "Леся Українка. «Давня казка»",
        "Михайло Коцюбинський. «Intermezzo»", "Григір Тютюнник. «Дід Миколай»",
        "Ліна Костенко. Поезії", "Іван Нечуй-Левицький. «Кайдашева сім'я»",
        "Всеволод Нестайко. «Тореадори з Васюківки»", "Позакласне читання",
        "Василь Стус. Поезії", "Ольга Кобилянська. «Земля»"),
    "Зарубіжна література": (
        "Міфи Давньої Греції", "Ганс Крістіан Андерсен. «Снігова королева»",
        "Марк Твен. «Пригоди Тома Сойєра»", "Жуль Верн. «П'ятнадцятирічний капітан»",
        "Вільям Шекспір. «Ромео і Джульєтта»", "Артур Конан Дойл. «Пістрява стрічка»",
        "Антуан де Сент-Екзюпері. «Маленький принц»", "Рей Бредбері. «Усмішка»"),
    "Англійська мова": (
        "My family and friends", "Daily routine. Present Simple", "School life",
        "Food and drinks", "Travelling. Past Simple", "Hobbies and free time",
        "Ukraine and its cities", "Environment. Future forms", "Present Perfect",
        "Reading: British traditions", "Writing an e-mail", "Conditionals"),
    "Математика": (
        "Натуральні числа. Порівняння", "Дії з натуральними числами", "Звичайні дроби",
        "Десяткові дроби", "Відсотки", "Подільність чисел. НСД і НСК", "Пропорції",
        "Координатна площина", "Рівняння", "Кут. Вимірювання кутів",
        "Площа прямокутника", "Розв'язування текстових задач"),
    "Алгебра": (
        "Лінійні рівняння з однією змінною", "Степінь з натуральним показником",
        "Формули скороченого множення", "Лінійна функція", "Системи лінійних рівнянь",
        "Квадратні корені", "Квадратні рівняння. Теорема Вієта", "Числові нерівності",
        "Арифметична прогресія", "Тригонометричні функції", "Похідна та її застосування",
        "Показникові рівняння"),
    "Геометрія": (
        "Суміжні і вертикальні кути", "Ознаки рівності трикутників", "Паралельні прямі",
        "Коло і круг", "Паралелограм", "Теорема Піфагора", "Подібність трикутників",
        "Площі многокутників", "Вектори на площині", "Розв'язування трикутників",
        "Многогранники", "Тіла обертання"),
    "Історія України": (
        "Київська Русь за Володимира Великого", "Ярослав Мудрий. «Руська правда»",
        "Галицько-Волинська держава", "Козацтво. Запорозька Січ",
        "Національно-визвольна війна під проводом Богдана Хмельницького", "Гетьманщина",
        "Українська революція 1917–1921 рр.", "Голодомор 1932–1933 рр.",
        "Україна в Другій світовій війні", "Проголошення незалежності України",
        "Революція Гідності", "Російсько-українська війна"),
    "Всесвітня історія": (
        "Стародавній Єгипет", "Антична Греція", "Римська імперія", "Середньовічна Європа",
        "Хрестові походи", "Великі географічні відкриття", "Реформація",
        "Французька революція", "Промисловий переворот", "Перша світова війна"),
    "Громадянська освіта": (
        "Права людини", "Громадянське суспільство", "Демократія і вибори",
        "Медіаграмотність", "Фінансова грамотність", "Місцеве самоврядування"),
    "Пізнаємо природу": (
        "Тіла і речовини", "Світло і звук", "Вода в природі", "Повітря",
        "Рослини рідного краю", "Тварини", "Екосистеми", "Земля у Сонячній системі"),
    "Географія": (
        "Карта і план місцевості", "Літосфера. Рельєф", "Атмосфера. Клімат", "Гідросфера",
        "Материки та океани", "Населення світу", "Рельєф України", "Природні зони",
        "Сумщина на карті України", "Економіка світу"),
    "Біологія": (
        "Клітина", "Різноманітність рослин", "Гриби", "Безхребетні тварини",
        "Хребетні тварини", "Будова тіла людини", "Кровообіг", "Нервова система",
        "Спадковість і мінливість", "Екологія"),
    "Фізика": (
        "Фізичні величини. Вимірювання", "Механічний рух", "Сила. Закони Ньютона",
        "Тиск. Закон Архімеда", "Робота і енергія", "Теплові явища",
        "Електричний струм. Закон Ома", "Магнітне поле", "Світлові явища",
        "Коливання і хвилі", "Атомне ядро"),
    "Хімія": (
        "Хімічні елементи", "Періодична система", "Будова атома", "Хімічний зв'язок",
        "Кисень", "Вода. Розчини", "Оксиди", "Кислоти", "Основи", "Солі",
        "Органічні сполуки"),
    "Інформатика": (
        "Інформаційні процеси", "Текстовий редактор", "Електронні таблиці", "Презентації",
        "Алгоритми і програми", "Змінні і розгалуження", "Цикли", "Бази даних",
        "Безпека в інтернеті", "Python: списки", "Python: функції"),
    "Мистецтво": (
        "Музичні жанри", "Живопис. Колорит", "Українські народні пісні", "Графіка",
        "Архітектура рідного міста", "Театр", "Кіномистецтво", "Петриківський розпис"),
    "Технології": (
        "Проєкт «Новорічна прикраса»", "Робота з деревиною", "Вишивка",
        "Кулінарія: сніданок", "Робота з папером", "Проєктна діяльність"),
    "Фізична культура": (
        "Легка атлетика. Біг на 60 м", "Волейбол. Передача м'яча", "Баскетбол. Ведення м'яча",
        "Гімнастика", "Футбол", "Стрибки у довжину", "Загальна фізична підготовка",
        "Рухливі ігри"),
    "Основи здоров'я": (
        "Здоровий спосіб життя", "Режим дня", "Безпека на дорозі",
        "Перша домедична допомога", "Мінна безпека", "Здорове харчування",
        "Психологічне здоров'я"),
    "Захист України": (
        "Статути ЗСУ", "Стройова підготовка", "Домедична допомога в бою", "Мінна безпека",
        "Цивільний захист", "Історія українського війська", "Військова топографія"),
}
HOMEWORK: dict[str, tuple[str, ...]] = {
    "Українська мова": ("Вправа {n} (с. {p})", "Вивчити правило на с. {p}, вправа {n}",
                        "Написати твір-мініатюру (8–10 речень)"),
    "Українська література": ("Прочитати твір до кінця, скласти план",
                              "Вивчити вірш напам'ять", "Відповісти на питання на с. {p}",
                              "Написати відгук про прочитаний твір"),
    "Зарубіжна література": ("Прочитати с. {p}–{p2}", "Скласти характеристику головного героя"),
    "Англійська мова": ("Ex. {e}, p. {p} (Student's Book)", "Learn the new words (p. {p})",
                        "Write about your weekend (8–10 sentences)"),
    "Математика": ("№ {n}, {n2}, {n3}", "§{s}, № {n}–{n2}", "Повторити правила, № {n}"),
    "Алгебра": ("№ {n}, {n2}, {n3}", "§{s}, № {n}–{n2}", "Повторити формули, № {n}"),
    "Геометрія": ("§{s}, задачі № {n}, {n2}", "Вивчити теорему, № {n}"),
    "Історія України": ("§{s}, скласти хронологічну таблицю", "§{s}, питання {e} письмово"),
    "Всесвітня історія": ("§{s}, працювати з картою", "§{s}, питання {e} письмово"),
    "Громадянська освіта": ("Підготувати есе на тему уроку", "§{s}, питання для обговорення"),
    "Пізнаємо природу": ("§{s}, провести спостереження вдома", "§{s}, питання {e}"),
    "Географія": ("§{s}, позначити на контурній карті", "§{s}, питання {e}"),
    "Біологія": ("§{s}, заповнити таблицю", "§{s}, підготувати повідомлення"),
    "Фізика": ("§{s}, вправа {e} (задачі 1–3)", "Оформити лабораторну роботу"),
    "Хімія": ("§{s}, завдання {n}–{n2}", "Скласти рівняння реакцій (с. {p})"),
    "Інформатика": ("Виконати практичне завдання в Google Classroom", "§{s}, питання 1–5"),
    "Мистецтво": ("Намалювати ескіз на тему уроку", "Послухати твір і записати враження"),
    "Технології": ("Принести матеріали для практичної роботи", "Завершити виріб"),
    "Основи здоров'я": ("§{s}, скласти пам'ятку", "§{s}, питання {e}"),
}
HOMEWORK_SHARE: dict[str, float] = {"Мистецтво": 0.3, "Технології": 0.3, "Основи здоров'я": 0.4}
COMMENTS_GOOD = ("Молодець!", "Чудова відповідь біля дошки", "Відмінна робота", "Творчий підхід")
COMMENTS_FAIR = ("Добре, але є неточності", "Активна робота на уроці",
                 "Уважніше оформлюйте роботу")
COMMENTS_POOR = ("Не виконано домашнє завдання", "Потрібно повторити тему",
                 "Запрошую на консультацію")
SCHOOL_EVENTS = (
    ("Олімпіада з математики (шкільний етап)", "Для охочих учнів 7–11 класів, кабінет 21.", "14:00"),
    ("Олімпіада з української мови (шкільний етап)", "Для охочих учнів 5–11 класів.", "14:00"),
    ("Навчальна евакуація", "Тренування з евакуації до укриття, дотримуйтеся вказівок вчителів.", "10:30"),
    ("День відкритих дверей", "Запрошуємо батьків майбутніх п'ятикласників.", "16:00"),
    ("Благодійний ярмарок для ЗСУ", "Виручені кошти передамо захисникам.", "12:30"),
    ("Шкільна спартакіада", "Змагання між класами на стадіоні школи.", "13:30"),
    ("Тиждень безпеки дорожнього руху", "Зустріч з інспектором патрульної поліції.", "11:35"),
    ("Загальношкільні батьківські збори", "Актова зала. Підсумки навчання, безпека дітей.", "18:00"),
)
SEASON_EVENTS: dict[int, tuple[str, ...]] = {
    9: ("Свято осені", "Свято першого дзвоника для п'ятикласників"),
    10: ("Свято осені", "Концерт до Дня вчителя"), 11: ("Свято осені", "День української писемності"),
    12: ("Свято Миколая", "Новорічний концерт"), 1: ("Новорічний концерт", "Свято Водохреща"),
    2: ("Свято весни", "Шевченківські дні"), 3: ("Шевченківські дні", "Свято весни"),
    4: ("Свято весни", "Великодній ярмарок"), 5: ("Свято останнього дзвоника", "Випускний вечір"),
    6: ("Випускний вечір", "Свято останнього дзвоника"), 7: ("Літній табір",),
    8: ("Підготовка до нового навчального року",),
}
CLASS_EVENTS = (
    ("Батьківські збори", "Підсумки місяця, поточні питання класу.", "18:00"),
    ("Екскурсія до краєзнавчого музею", "Збір біля школи о 09:00, вартість квитка 50 грн.", "09:00"),
    ("Виховна година «Безпека в інтернеті»", "Проводить класний керівник.", "13:25"),
    ("Похід до театру", "Вистава у Сумському театрі драми і музичної комедії.", "17:00"),
)

YES_SPELLINGS = (("yes", 60), ("так", 20), ("true", 12), ("1", 8))
NO_SPELLINGS = (("no", 50), ("ні", 25), ("false", 15), ("0", 10))
OPERATOR_CODES = ("050", "066", "095", "099", "067", "068", "096", "097", "098", "063", "073",
                  "093")
PHONE_SPELLINGS = (("{a} {b} {c} {d}", 30), ("+38 ({a}) {b}-{c}-{d}", 20), ("38{a}{b}{c}{d}", 15),
                   ("{a}{b}{c}{d}", 20), ("+38{a}{b}{c}{d}", 15))
ABILITIES = (-2, -1, -1, -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2)  # a pupil's lean, in points
# Per 100 grades of an average pupil, values 1..12; over all pupils ~80% are 6-11.
VALUE_WEIGHTS = (1, 1, 1, 2, 4, 9, 14, 18, 19, 16, 10, 5)
VALUE_TABLE_SIZE = sum(VALUE_WEIGHTS)
DILIGENCE = (1.0, 1.0, 1.0, 1.0, 0.99, 0.98, 0.97, 0.95, 0.9, 0.85)  # share of lessons marked
CONTROL_SHARE = 0.03  # lessons with a контрольна робота: every pupil present is graded
THEMATIC_SHARE = 0.02  # lessons closing a theme: тематична for every pupil present
COMMENT_SHARE = 0.05


def _pool(options: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """Each option repeated by its weight: a weighted draw is one rng.choice."""
    return tuple(option for option, weight in options for _ in range(weight))


YES_POOL, NO_POOL, SPELLING_POOL = _pool(YES_SPELLINGS), _pool(NO_SPELLINGS), _pool(PHONE_SPELLINGS)


def _value_tables() -> dict[int, tuple[int, ...]]:
    """A pupil of ability `a` draws a grade as table[a][int(random() * VALUE_TABLE_SIZE)]."""
    base = [value for value, weight in enumerate(VALUE_WEIGHTS, 1) for _ in range(weight)]
    assert len(base) == VALUE_TABLE_SIZE
    return {a: tuple(min(12, max(1, v + a)) for v in base) for a in sorted(set(ABILITIES))}


def journal_order(full_name: str) -> str:
    """A sort key in the Ukrainian alphabet (є, і, ї, ґ where a class journal has them)."""
    return full_name.lower().translate(_COLLATION)


# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    surname: tuple[str, str]
    given: str
    patronymic: str
    male: bool

    @property
    def full_name(self) -> str:
        return f"{self.surname[0] if self.male else self.surname[1]} {self.given} {self.patronymic}"


@dataclass(frozen=True)
class Phone:
    spelling: str  # as the school administrator typed it
    e164: str


@dataclass(eq=False)
class Guardian:
    guardian_id: str
    person: Person
    phone: Phone
    consent: str
    consent_date: str

    @property
    def consents(self) -> bool:
        return self.consent in YES_POOL


@dataclass(eq=False)
class Family:
    surname: tuple[str, str]
    father: tuple[str, str, str]
    guardians: list[Guardian] = field(default_factory=list)
    class_ids: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Pupil:
    person: Person
    family: Family
    ability: int
    student_id: str = ""


@dataclass(eq=False)
class StaffMember:
    staff_id: str
    person: Person
    phone: Phone
    role: str
    consent: str
    speciality: str = ""
    diligence: float = 1.0


Slot = tuple[int, str, str, str, str]  # number, subject, teacher_id, starts_at, ends_at


@dataclass(eq=False)
class SchoolClass:
    class_id: str
    name: str
    grade: int
    seats: int
    pupils: list[Pupil] = field(default_factory=list)
    teachers: dict[str, str] = field(default_factory=dict)  # subject -> staff_id
    homeroom_teacher_id: str = ""
    week: list[list[Slot]] = field(default_factory=list)  # Monday..Friday

    @property
    def curriculum(self) -> tuple[tuple[str, int], ...]:
        return CURRICULA["5-6" if self.grade <= 6 else "7-9" if self.grade <= 9 else "10-11"]


@dataclass
class School:
    school_id: str
    key: str
    name: str
    grades: tuple[int, ...]
    launched: bool
    classes: list[SchoolClass] = field(default_factory=list)
    staff: list[StaffMember] = field(default_factory=list)

    def teachers(self) -> list[StaffMember]:
        return [member for member in self.staff if member.role == "teacher"]


# ---------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class SchoolCalendar:
    today: date
    period: tuple[date, ...]  # school days with a diary, oldest first
    upcoming: tuple[date, ...]  # the published schedule after today

    @classmethod
    def around(cls, today: date, weeks: int) -> SchoolCalendar:
        return cls(today, tuple(reversed(list(_school_days(today, -1, weeks * 5)))),
                   tuple(_school_days(today + timedelta(days=1), 1, UPCOMING_SCHOOL_DAYS)))

    @property
    def last_school_day(self) -> date:
        """The day the diary ends: today on a weekday, else the Friday before."""
        return self.period[-1]

    @property
    def homework_days(self) -> tuple[date, ...]:
        return self.period[-HOMEWORK_PAST_SCHOOL_DAYS:] + self.upcoming


def _school_days(start: date, step: int, count: int) -> Iterator[date]:
    day = start
    while count:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += timedelta(days=step)


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class DemoSummary:
    """What was written: rows per file, and the special cases by the files' own ids.

    `absence_day` is the last school day on or before `today` (today on a weekday); the
    `absent_today_*` pupil missed `absent_today_lesson_ids` unexcused on it. Phones are
    E.164: the demo parent (guardian with two children in a launched school), the
    homeroom teacher of that parent's first child, and the first school's director.
    """

    folder: Path
    today: date
    absence_day: date
    attendance_full: bool
    counts: dict[str, int]
    multi_child_guardian_id: str
    multi_child_student_ids: tuple[str, ...]
    two_guardian_student_id: str
    two_guardian_ids: tuple[str, ...]
    no_consent_guardian_id: str
    unlaunched_school_id: str | None
    teacher_parent_staff_id: str
    teacher_parent_guardian_id: str
    cross_school_guardian_id: str | None
    cross_school_student_ids: tuple[str, ...]
    absent_today_student_id: str
    absent_today_lesson_ids: tuple[str, ...]
    department_staff_id: str
    demo_parent_phone: str
    demo_teacher_phone: str
    demo_director_phone: str

    def describe(self) -> str:
        lines = [f"demo data in {self.folder} (today {self.today}, "
                 f"attendance {'full' if self.attendance_full else 'marks only'})"]
        lines += [f"  {name:<15} {count:>9} rows" for name, count in self.counts.items()]
        lines += [
            f"  demo parent:          {self.demo_parent_phone} (guardian "
            f"{self.multi_child_guardian_id}, children {', '.join(self.multi_child_student_ids)})",
            f"  demo teacher:         {self.demo_teacher_phone}",
            f"  demo director:        {self.demo_director_phone}",
            f"  absent on {self.absence_day}: {self.absent_today_student_id} "
            f"({len(self.absent_today_lesson_ids)} lessons)",
            f"  two guardians:        {self.two_guardian_student_id} "
            f"({', '.join(self.two_guardian_ids)})",
            f"  no consent:           {self.no_consent_guardian_id}",
            f"  teacher and parent:   staff {self.teacher_parent_staff_id} = guardian "
            f"{self.teacher_parent_guardian_id}",
            f"  children in 2 schools: {self.cross_school_guardian_id or '-'}",
            f"  not launched:         {self.unlaunched_school_id or '-'}",
            f"  department:           {self.department_staff_id}",
        ]
        return "\n".join(lines)


def to_e164(spelling: str) -> str:
    """E.164 of a phone as spelt in the files (any spelling the data contract allows)."""
    digits = "".join(ch for ch in spelling if ch.isdigit())
    text = "+" + digits if not spelling.startswith("+") and digits.startswith("380") else spelling
    return phonenumbers.format_number(phonenumbers.parse(text, "UA"),
                                      phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------- the files


class _Sheets:
    """The ten CSV files, open together. The register and the events go through
    csv.writer; the four diary files arrive as encoded CSV lines (see `_Diary`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counts = {name: 0 for name in CSV_COLUMNS}
        self._stack = ExitStack()
        self._writers: dict[str, Any] = {}
        self._binary: dict[str, Any] = {}

    def __enter__(self) -> _Sheets:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, columns in CSV_COLUMNS.items():
            if name in DIARY_FILES:
                handle = self._stack.enter_context(open(self.folder / name, "wb"))
                handle.write((",".join(columns) + "\n").encode())
                self._binary[name] = handle
            else:
                handle = self._stack.enter_context(
                    open(self.folder / name, "w", encoding="utf-8", newline=""))
                self._writers[name] = csv.writer(handle, lineterminator="\n")
                self._writers[name].writerow(columns)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        self._writers[name].writerows(rows)
        self.counts[name] += len(rows)

    def write_encoded(self, name: str, data: bytes, rows: int) -> None:
        self._binary[name].write(data)
        self.counts[name] += rows


# ---------------------------------------------------------------- the generator


@dataclass
class _Specials:
    demo_family: Family | None = None
    demo_children: list[Pupil] = field(default_factory=list)
    two_guardian_child: Pupil | None = None
    no_consent_guardian: Guardian | None = None
    teacher_parent: StaffMember | None = None
    teacher_guardian: Guardian | None = None
    cross_family: Family | None = None
    cross_children: list[Pupil] = field(default_factory=list)
    absent_lessons: list[str] = field(default_factory=list)
    department: StaffMember | None = None


class _CityGenerator:
    def __init__(self, rng: random.Random, calendar: SchoolCalendar, *,
                 grades_per_day: float, full_attendance: bool) -> None:
        self.rng = rng
        self.calendar = calendar
        self.grades_per_day = grades_per_day
        self.full_attendance = full_attendance
        self.phones: set[str] = set()
        self.guardian_count = 0
        self.specials = _Specials()

    # ------------------------------------------------------------ people

    def new_phone(self) -> Phone:
        rng = self.rng
        while True:
            code = rng.choice(OPERATOR_CODES)
            number = str(rng.randrange(2_000_000, 10_000_000))
            e164 = f"+380{code[1:]}{number}"
            if e164 not in self.phones:
                self.phones.add(e164)
                return Phone(self.spell(code, number), e164)

    def spell(self, code: str, number: str, avoid: str = "") -> str:
        """The number as an administrator might type it (never as `avoid`)."""
        while True:
            shape = self.rng.choice(SPELLING_POOL)
            spelling = shape.format(a=code, b=number[:3], c=number[3:5], d=number[5:])
            if spelling != avoid:
                return spelling

    def adult(self, male: bool, surname: tuple[str, str] | None = None) -> Person:
        rng = self.rng
        father_of = rng.choice(MEN)
        given = rng.choice(MEN)[0] if male else rng.choice(WOMEN)
        return Person(surname or rng.choice(SURNAMES), given,
                      father_of[1] if male else father_of[2], male)

    def consent(self, share_yes: float = 0.93) -> tuple[str, str]:
        if self.rng.random() < share_yes:
            return self.rng.choice(YES_POOL), self.consent_date()
        return self.rng.choice(NO_POOL), ""

    def consent_date(self) -> str:
        return (self.calendar.today - timedelta(days=self.rng.randint(3, 330))).isoformat()

    def guardian(self, key: str, person: Person, *, consent: str | None = None,
                 phone: Phone | None = None) -> Guardian:
        self.guardian_count += 1
        if consent is None:
            consent, when = self.consent()
        else:
            when = self.consent_date() if consent in YES_POOL else ""
        return Guardian(f"{key}-G{self.guardian_count:05d}", person, phone or self.new_phone(),
                        consent, when)

    def family(self, key: str, shape: str = "", consent: str | None = None) -> Family:
        rng = self.rng
        family = Family(rng.choice(SURNAMES), rng.choice(MEN))
        if not shape:
            draw = rng.random()
            shape = "mother" if draw < 0.55 else "both" if draw < 0.9 else "father"
        if shape in ("mother", "both"):
            mother = self.adult(False, family.surname)
            family.guardians.append(self.guardian(key, mother, consent=consent))
        if shape in ("father", "both"):
            father = Person(family.surname, family.father[0], rng.choice(MEN)[1], True)
            family.guardians.append(self.guardian(key, father, consent=consent))
        return family

    def child(self, family: Family) -> Pupil:
        rng = self.rng
        male = rng.random() < 0.5
        given = rng.choice(BOYS if male else GIRLS)
        person = Person(family.surname, given, family.father[1 if male else 2], male)
        return Pupil(person, family, rng.choice(ABILITIES))

    # ------------------------------------------------------------ schools

    def plan_schools(self, count: int) -> list[School]:
        rng = self.rng
        numbers = rng.sample(range(1, max(30, count + 15) + 1), count)
        schools = []
        for index, number in enumerate(numbers):
            kinds = SCHOOL_KINDS[:1] if index == 0 else SCHOOL_KINDS
            name, grades, _ = rng.choices(kinds, weights=[k[2] for k in kinds])[0]
            key = f"S{number:02d}"
            launched = count == 1 or index < count - 1
            schools.append(School(key, key, name.format(n=number), grades, launched))
        return schools

    def build_classes(self, school: School, students: int) -> None:
        count = max(1, round(students / CLASS_SIZE))
        grades = _spread_grades(school.grades, count)
        sizes = [students // count + (1 if i < students % count else 0) for i in range(count)]
        for i, (grade, letter) in enumerate(grades):
            school.classes.append(SchoolClass(f"{school.key}-C{i + 1:02d}",
                                              f"{grade}-{letter}", grade, sizes[i]))

    def build_staff(self, school: School, *, department: bool = False) -> None:
        next_id = iter(range(1, 10_000))

        def member(role: str, male: bool, speciality: str = "") -> StaffMember:
            consent = "yes" if role != "teacher" else self.consent(0.95)[0]
            diligence = self.rng.choice(DILIGENCE)
            return StaffMember(f"{school.key}-T{next(next_id):03d}", self.adult(male),
                               self.new_phone(), role, consent, speciality, diligence)

        school.staff.append(member("director", self.rng.random() < 0.4))
        school.staff.append(member("admin", self.rng.random() < 0.2))
        if department:
            self.specials.department = member("department", self.rng.random() < 0.3)
            school.staff.append(self.specials.department)
        for speciality, classes in _classes_by_speciality(school.classes).items():
            share_men = 0.6 if speciality in MOSTLY_MEN_SPECIALITIES else 0.18
            for group in _split_by_load(classes, [_hours(c, speciality) for c in classes]):
                teacher = member("teacher", self.rng.random() < share_men, speciality)
                school.staff.append(teacher)
                for school_class in group:
                    for subject, _ in school_class.curriculum:
                        if SPECIALITY[subject] == speciality:
                            school_class.teachers[subject] = teacher.staff_id

    def assign_homerooms(self, school: School) -> None:
        taken: list[str] = []
        teachers = [t.staff_id for t in school.teachers()]
        for school_class in school.classes:
            own = sorted(set(school_class.teachers.values()) - set(taken))
            pool = own or [t for t in teachers if t not in taken] or teachers
            school_class.homeroom_teacher_id = self.rng.choice(pool)
            taken.append(school_class.homeroom_teacher_id)

    def build_timetables(self, school: School) -> None:
        busy: set[tuple[str, int, int]] = set()
        for school_class in school.classes:
            days = self._deal_subjects(school_class)
            school_class.week = [self._order_day(school_class, weekday, subjects, busy)
                                 for weekday, subjects in enumerate(days)]

    def _deal_subjects(self, school_class: SchoolClass) -> list[list[str]]:
        """Deal the week's lessons round the five days, so a subject is spread out."""
        lessons = [s for s, hours in school_class.curriculum for _ in range(hours)]
        start = self.rng.randrange(5)
        days: list[list[str]] = [[] for _ in range(5)]
        for i, subject in enumerate(lessons):
            days[(start + i) % 5].append(subject)
        return days

    def _order_day(self, school_class: SchoolClass, weekday: int, subjects: list[str],
                   busy: set[tuple[str, int, int]]) -> list[Slot]:
        """Order a day's lessons so that a teacher is not in two rooms at once (mostly)."""
        remaining, slots = list(subjects), []
        for number in range(1, len(subjects) + 1):
            free = [s for s in remaining
                    if (school_class.teachers[s], weekday, number) not in busy]
            subject = self.rng.choice(free or remaining)
            remaining.remove(subject)
            teacher = school_class.teachers[subject]
            busy.add((teacher, weekday, number))
            starts, ends = BELLS[number - 1]
            slots.append((number, subject, teacher, starts, ends))
        return slots

    # ------------------------------------------------------------ pupils

    def enrol_specials(self, school: School, index: int, schools: int) -> list[tuple[Pupil, int]]:
        """The special cases, each with the class (by position) its child sits in."""
        specials, key, last = self.specials, school.key, len(school.classes) - 1
        placed: list[tuple[Pupil, int]] = []
        if index == 0:
            demo = self.family(key, "mother", consent="yes")
            specials.demo_family = demo
            specials.demo_children = [self.child(demo), self.child(demo)]
            placed += [(specials.demo_children[0], 0), (specials.demo_children[1], min(1, last))]
            pair = self.family(key, "both", consent="так")
            specials.two_guardian_child = self.child(pair)
            placed.append((specials.two_guardian_child, min(1, last)))
            refused = self.family(key, "mother", consent="no")
            specials.no_consent_guardian = refused.guardians[0]
            placed.append((self.child(refused), last))
            placed.append((self._teacher_child(school), 0))
            if schools > 1:
                specials.cross_family = self.family(key, "father", consent="1")
        if index in (0, 1) and specials.cross_family is not None:
            pupil = self.child(specials.cross_family)
            specials.cross_children.append(pupil)
            placed.append((pupil, last if index == 0 else 0))
        return placed

    def _teacher_child(self, school: School) -> Pupil:
        teachers = school.teachers()
        mothers = [t for t in teachers if not t.person.male] or teachers
        teacher = self.rng.choice(mothers)
        teacher.consent = "yes"
        code, number = teacher.phone.e164[3:6], teacher.phone.e164[6:]
        phone = Phone(self.spell(code, number, avoid=teacher.phone.spelling), teacher.phone.e164)
        family = Family(teacher.person.surname, self.rng.choice(MEN))
        if teacher.person.male:
            father = next(m for m in MEN if m[0] == teacher.person.given)
            family.father = father
        guardian = self.guardian(school.key, teacher.person, consent="yes", phone=phone)
        family.guardians.append(guardian)
        self.specials.teacher_parent, self.specials.teacher_guardian = teacher, guardian
        return self.child(family)

    def enrol(self, school: School, students: int, placed: list[tuple[Pupil, int]]) -> None:
        for pupil, class_index in placed:
            self._seat(school.classes[class_index], pupil)
        free = students - len(placed)
        families: list[Family] = []
        for school_class in school.classes:
            while free and len(school_class.pupils) < school_class.seats:
                self._seat(school_class, self._next_pupil(school.key, school_class, families))
                free -= 1
        for school_class in school.classes:
            school_class.pupils.sort(key=lambda p: journal_order(p.person.full_name))
        self._number_pupils(school)

    def _next_pupil(self, key: str, school_class: SchoolClass, families: list[Family]) -> Pupil:
        rng = self.rng
        if families and rng.random() < 0.08:
            family = rng.choice(families)
            if school_class.class_id not in family.class_ids:
                return self.child(family)
        family = self.family(key)
        families.append(family)
        return self.child(family)

    @staticmethod
    def _seat(school_class: SchoolClass, pupil: Pupil) -> None:
        school_class.pupils.append(pupil)
        pupil.family.class_ids.append(school_class.class_id)

    @staticmethod
    def _number_pupils(school: School) -> None:
        number = 0
        for school_class in school.classes:
            for pupil in school_class.pupils:
                number += 1
                pupil.student_id = f"{school.key}-P{number:04d}"

    def build_school(self, school: School, index: int, schools: int, students: int) -> None:
        self.build_classes(school, students)
        self.build_staff(school, department=index == 0)
        self.assign_homerooms(school)
        self.build_timetables(school)
        self.enrol(school, students, self.enrol_specials(school, index, schools))
        if index == 0:
            self.demo_teacher(school).consent = "yes"

    @staticmethod
    def demo_teacher(school: School) -> StaffMember:
        """The homeroom teacher of the demo parent's first child."""
        wanted = school.classes[0].homeroom_teacher_id
        return next(member for member in school.staff if member.staff_id == wanted)

    # ------------------------------------------------------------ the register

    def write_register(self, school: School, sheets: _Sheets) -> None:
        sheets.write("schools.csv", [(school.school_id, school.name,
                                      "yes" if school.launched else "no", TIMEZONE)])
        sheets.write("classes.csv", [(c.class_id, school.school_id, c.name, c.homeroom_teacher_id)
                                     for c in school.classes])
        sheets.write("staff.csv", [(m.staff_id, school.school_id, m.person.full_name,
                                    m.phone.spelling, m.role, m.consent) for m in school.staff])
        sheets.write("students.csv", [(p.student_id, c.class_id, p.person.full_name)
                                      for c in school.classes for p in c.pupils])
        sheets.write("guardians.csv", [
            (g.guardian_id, p.student_id, g.person.full_name, g.phone.spelling, g.consent,
             g.consent_date, "")
            for c in school.classes for p in c.pupils for g in p.family.guardians])

    # ------------------------------------------------------------ the diary

    def diary_plan(self, school: School, seed: int, absent_pupil: Pupil | None) -> _DiaryPlan:
        """What a diary needs of a school; it draws from a random stream of its own."""
        return _DiaryPlan(
            key=school.key,
            seed=f"{seed}/diary/{school.school_id}",
            calendar=self.calendar,
            classes=tuple(_ClassPlan(c.class_id, tuple(p.student_id for p in c.pupils),
                                     tuple(p.ability for p in c.pupils),
                                     tuple(tuple(day) for day in c.week))
                          for c in school.classes),
            diligence={m.staff_id: m.diligence for m in school.staff},
            absent_seat=_seat_of(school, absent_pupil),
            grades_per_day=self.grades_per_day,
            full_attendance=self.full_attendance,
        )

    def write_events(self, school: School, sheets: _Sheets) -> None:
        rng, today, period = self.rng, self.calendar.today, self.calendar.period
        rows: list[tuple[Any, ...]] = []
        titles = list(SCHOOL_EVENTS) + [(t, "Запрошуємо учнів і батьків.", "15:00")
                                        for t in SEASON_EVENTS[today.month]]

        def add(day: date, event: tuple[str, str, str], class_id: str = "") -> None:
            title, description, at = event
            starts = datetime.combine(day, clock.fromisoformat(at), KYIV).isoformat()
            rows.append((f"EV-{school.key}-{len(rows) + 1}", school.school_id, title, starts,
                         class_id, description))

        for day in sorted(rng.sample(period, min(len(period), 2 + len(period) // 10))):
            add(day, rng.choice(titles))
        add(today + timedelta(days=1), rng.choice(titles))
        add(today + timedelta(days=rng.randint(3, 12)), rng.choice(titles))
        for index, school_class in enumerate(school.classes):
            if index == 0 or rng.random() < 0.4:
                days_ahead = 1 if index == 0 else rng.randint(2, 14)
                add(today + timedelta(days=days_ahead), CLASS_EVENTS[0], school_class.class_id)
            if rng.random() < 0.3:
                add(rng.choice(period), rng.choice(CLASS_EVENTS), school_class.class_id)
        sheets.write("events.csv", rows)


@dataclass(frozen=True)
class _ClassPlan:
    class_id: str
    student_ids: tuple[str, ...]
    abilities: tuple[int, ...]
    week: tuple[tuple[Slot, ...], ...]


@dataclass(frozen=True)
class _DiaryPlan:
    key: str
    seed: str
    calendar: SchoolCalendar
    classes: tuple[_ClassPlan, ...]
    diligence: dict[str, float]
    absent_seat: tuple[str, int] | None  # (class_id, index) of the demo truant
    grades_per_day: float
    full_attendance: bool


@dataclass
class _DiaryPages:
    """A school's diary files as encoded CSV lines, with their row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    absent_lessons: list[str]


def write_school_diary(plan: _DiaryPlan) -> _DiaryPages:
    """One school's lessons, grades, attendance and homework (runs in a worker process)."""
    diary = _Diary(plan)
    pages: dict[str, list[str]] = {name: [] for name in DIARY_FILES}
    for day in plan.calendar.period + plan.calendar.upcoming:
        diary.write_day(day, pages)
    return _DiaryPages({name: "".join(lines).encode() for name, lines in pages.items()},
                       {name: len(lines) for name, lines in pages.items()},
                       diary.absent_lessons)


class _Diary:
    """Lessons, grades, attendance and homework of one school, day by day.

    This is the hot loop of a city-sized folder (about 700,000 lessons and 3 million
    grades), so rows are formatted here as CSV lines from pre-quoted parts.
    """

    def __init__(self, plan: _DiaryPlan) -> None:
        self.plan, self.rng, self.key = plan, random.Random(plan.seed), plan.key
        self.calendar = plan.calendar
        self.homework_days = frozenset(plan.calendar.homework_days)
        self.recent_days = frozenset(plan.calendar.period[-3:-1])
        self.diligence = plan.diligence
        values = _value_tables()
        self.tables = {c.class_id: [values[a] for a in c.abilities] for c in plan.classes}
        self.topic_cursor: dict[tuple[str, str], int] = {}
        self.absent_seat = plan.absent_seat
        self.absent_lessons: list[str] = []
        self.lesson_no = self.grade_no = self.homework_no = 0
        self._counts: dict[float, tuple[int, ...]] = {}
        # Fewer grades a day also means fewer tests (контрольна, тематична).
        self.control_share = CONTROL_SHARE * min(1.0, plan.grades_per_day)
        self.test_share = (CONTROL_SHARE + THEMATIC_SHARE) * min(1.0, plan.grades_per_day)

    def _draw_count(self, mean: float) -> int:
        """A Poisson count with this mean, from a table of its quantiles (one draw)."""
        mean = round(mean, 2)
        table = self._counts.get(mean)
        if table is None:
            table = self._counts[mean] = _poisson_quantiles(mean)
        return table[int(self.rng.random() * len(table))]

    def _phase(self, day: date) -> str:
        if day > self.calendar.today:
            return "upcoming"
        if day == self.calendar.last_school_day:
            return "last"
        return "recent" if day in self.recent_days else "past"

    def write_day(self, day: date, pages: dict[str, list[str]]) -> None:
        lessons, grades = pages["lessons.csv"], pages["grades.csv"]
        marks, homework = pages["attendance.csv"], pages["homework.csv"]
        phase, date_text = self._phase(day), day.isoformat()
        held, with_homework = phase != "upcoming", day in self.homework_days
        for school_class in self.plan.classes:
            slots = school_class.week[day.weekday()]
            truant = self._truant_seat(school_class, phase)
            away = self._whole_day_absences(school_class, len(slots), truant) if held else {}
            for slot in slots:
                self.lesson_no += 1
                lesson_id = f"L-{self.key}-{self.lesson_no}"
                kind = self._lesson_kind(slot[1]) if held else "поточна"
                forgotten = held and self._topic_forgotten(phase, slot[2])
                lessons.append(self._lesson_line(school_class, date_text, slot, lesson_id, kind,
                                                 forgotten))
                if held:
                    lesson = _Lesson(lesson_id, slot, kind, date_text, len(slots), phase)
                    self._hold_lesson(school_class, lesson, away, truant, grades, marks)
                if with_homework:
                    self._set_homework(school_class, date_text, slot, homework)

    def _lesson_kind(self, subject: str) -> str:
        if subject == "Фізична культура":
            return "поточна"
        draw = self.rng.random()
        if draw < self.control_share:
            return "контрольна"
        return "тематична" if draw < self.test_share else "поточна"

    def _lesson_line(self, school_class: _ClassPlan, date_text: str, slot: Slot,
                     lesson_id: str, kind: str, forgotten: bool) -> str:
        number, subject, teacher, starts, ends = slot
        cursor = self.topic_cursor.get((school_class.class_id, subject), 0)
        self.topic_cursor[school_class.class_id, subject] = cursor + 1
        topic = "" if forgotten else _topic_field(subject, cursor, kind)
        return (f"{lesson_id},{school_class.class_id},{_SUBJECT_FIELD[subject]},{teacher},"
                f"{date_text},{starts},{ends},{number},{topic}\n")

    def _topic_forgotten(self, phase: str, teacher: str) -> bool:
        if phase == "past":
            return False
        if phase == "last":
            return self.rng.random() < 0.35
        return self.rng.random() < (1.0 - self.diligence[teacher]) * 2

    def _attendance_marked(self, phase: str, teacher: str) -> bool:
        if phase == "last":
            return self.rng.random() < 0.7
        diligence = self.diligence[teacher] - (0.1 if phase == "recent" else 0.0)
        return diligence >= 1.0 or self.rng.random() < diligence

    def _truant_seat(self, school_class: _ClassPlan, phase: str) -> int | None:
        """The demo pupil's seat in this class on the day they skip lessons, else None."""
        if phase != "last" or self.absent_seat is None:
            return None
        class_id, index = self.absent_seat
        return index if school_class.class_id == class_id else None

    def _whole_day_absences(self, school_class: _ClassPlan, lessons: int,
                            truant: int | None) -> dict[int, tuple[str, int, int]]:
        """Pupils away for (part of) the day: index -> (status, first, last lesson)."""
        rng, size = self.rng, len(school_class.student_ids)
        away: dict[int, tuple[str, int, int]] = {}
        for index in _some(rng, size, self._draw_count(size * 0.045)):
            away[index] = ("excused" if rng.random() < 0.65 else "absent", 1, lessons)
        if rng.random() < 0.15:  # someone skips the last lessons
            index = int(rng.random() * size)
            away.setdefault(index, ("absent", rng.randint(max(1, lessons - 2), lessons), lessons))
        if truant is not None:
            away[truant] = ("absent", 1, min(3, lessons))
        return away

    def _hold_lesson(self, school_class: _ClassPlan, lesson: _Lesson,
                     away: dict[int, tuple[str, int, int]], truant: int | None,
                     grades: list[str], marks: list[str]) -> None:
        ids, tables = school_class.student_ids, self.tables[school_class.class_id]
        number, teacher = lesson.slot[0], lesson.slot[2]
        status = {i: s for i, (s, first, last) in away.items() if first <= number <= last}
        if self.rng.random() < len(ids) * 0.01:
            status.setdefault(int(self.rng.random() * len(ids)), "late")
        graded = self._graded_pupils(len(ids), lesson, status)
        if graded:
            self._write_grades(ids, tables, graded, lesson, grades)
        special = truant is not None and status.get(truant) == "absent"
        if special:
            self.absent_lessons.append(lesson.lesson_id)
        if special or self._attendance_marked(lesson.phase, teacher):
            self._mark_attendance(ids, lesson.lesson_id, status, graded, marks)

    def _graded_pupils(self, size: int, lesson: _Lesson, status: dict[int, str]) -> list[int]:
        if lesson.kind != "поточна":
            return [i for i in range(size) if status.get(i, "late") == "late"]
        share = self.test_share
        per_lesson = self.plan.grades_per_day * size / lesson.lessons_today
        mean = max(0.0, per_lesson - share * size) / (1 - share)
        picked = _some(self.rng, size, self._draw_count(mean))
        if status:
            picked = [i for i in picked if status.get(i, "late") == "late"]
        picked.sort()
        return picked

    def _write_grades(self, ids: Sequence[str], tables: list[tuple[int, ...]], graded: list[int],
                      lesson: _Lesson, grades: list[str]) -> None:
        rnd, rng, number = self.rng.random, self.rng, self.grade_no
        head = f"GR-{self.key}-"
        tail = f",{lesson.kind},{lesson.slot[2]},{lesson.lesson_id},"
        middle = f",{_SUBJECT_FIELD[lesson.slot[1]]},{lesson.date_text},"
        for index in graded:
            value = tables[index][int(rnd() * VALUE_TABLE_SIZE)]
            comment = _comment(rng, value) if rnd() < COMMENT_SHARE else ""
            number += 1
            grades.append(f"{head}{number},{ids[index]}{middle}{value}{tail}{comment}\n")
        self.grade_no = number

    def _mark_attendance(self, ids: Sequence[str], lesson_id: str, status: dict[int, str],
                         graded: list[int], marks: list[str]) -> None:
        for index, mark in status.items():
            marks.append(f"{ids[index]},{lesson_id},{mark}\n")
        if self.plan.full_attendance:
            marks.extend(f"{student_id},{lesson_id},present\n"
                         for index, student_id in enumerate(ids) if index not in status)
            return
        present = next((i for i in graded if i not in status), None)
        if present is None:
            present = next((i for i in range(len(ids)) if i not in status), None)
        if present is not None:
            marks.append(f"{ids[present]},{lesson_id},present\n")

    def _set_homework(self, school_class: _ClassPlan, date_text: str, slot: Slot,
                      homework: list[str]) -> None:
        rng, subject = self.rng, slot[1]
        templates = HOMEWORK.get(subject)
        if not templates or rng.random() > HOMEWORK_SHARE.get(subject, 0.75):
            return
        n = rng.randint(10, 480)
        text = rng.choice(templates).format(
            n=n, n2=n + rng.randint(1, 4), n3=n + rng.randint(5, 9), p=rng.randint(8, 230),
            p2=rng.randint(231, 260), s=rng.randint(1, 40), e=rng.randint(1, 12))
        self.homework_no += 1
        homework.append(f"HW-{self.key}-{self.homework_no},{school_class.class_id},"
                        f"{_SUBJECT_FIELD[subject]},{date_text},{csv_field(text)},{slot[2]}\n")


@dataclass(slots=True)
class _Lesson:
    lesson_id: str
    slot: Slot
    kind: str
    date_text: str
    lessons_today: int
    phase: str


def _poisson_quantiles(mean: float, size: int = 200) -> tuple[int, ...]:
    """Poisson(mean) at the probabilities (i + 0.5) / size: a draw is one table lookup."""
    table, count, term = [], 0, math.exp(-mean)
    cumulative = term
    for i in range(size):
        while cumulative < (i + 0.5) / size and term > 0:
            count += 1
            term *= mean / count
            cumulative += term
        table.append(count)
    return tuple(table)


def csv_field(text: str) -> str:
    """One field as csv.writer (QUOTE_MINIMAL) writes it."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


_SUBJECT_FIELD = {subject: csv_field(subject) for subject in SPECIALITY}
_TOPIC_FIELDS = {subject: tuple(csv_field(t) for t in topics) for subject, topics in TOPICS.items()}


def _topic_field(subject: str, cursor: int, kind: str) -> str:
    """The lesson's topic as a CSV field: the next planned topic, or a test on it."""
    index = cursor % len(TOPICS[subject])
    if kind == "поточна":
        return _TOPIC_FIELDS[subject][index]
    topic = TOPICS[subject][index]
    if kind == "контрольна":
        return csv_field(f"Контрольна робота. {topic}")
    return csv_field(f"Узагальнення з теми «{topic}»")


def _comment(rng: random.Random, value: int) -> str:
    pool = COMMENTS_GOOD if value >= 10 else COMMENTS_FAIR if value >= 7 else COMMENTS_POOR
    return csv_field(rng.choice(pool))


def _some(rng: random.Random, size: int, count: int) -> list[int]:
    """`count` different indices below `size` (random.sample is slow for a handful)."""
    if count <= 0 or size <= 0:
        return []
    if count * 3 >= size:
        return rng.sample(range(size), min(count, size))
    chosen: dict[int, None] = {}
    draw = rng.random
    while len(chosen) < count:
        chosen[int(draw() * size)] = None
    return list(chosen)


def _seat_of(school: School, pupil: Pupil | None) -> tuple[str, int] | None:
    for school_class in school.classes:
        for index, candidate in enumerate(school_class.pupils):
            if candidate is pupil:
                return school_class.class_id, index
    return None


def _spread_grades(grades: tuple[int, ...], count: int) -> list[tuple[int, str]]:
    """Which classes a school has: `count` classes over its grades, younger ones first."""
    if count < len(grades):
        if count == 1:
            return [(grades[0], CLASS_LETTERS[0])]
        step = (len(grades) - 1) / (count - 1)
        return [(grades[round(i * step)], CLASS_LETTERS[0]) for i in range(count)]
    per_grade = [count // len(grades) + (1 if i < count % len(grades) else 0)
                 for i in range(len(grades))]
    return [(grade, CLASS_LETTERS[letter])
            for grade, parallel in zip(grades, per_grade)
            for letter in range(min(parallel, len(CLASS_LETTERS)))]


def _classes_by_speciality(classes: list[SchoolClass]) -> dict[str, list[SchoolClass]]:
    found: dict[str, list[SchoolClass]] = {}
    for school_class in classes:
        for subject, _ in school_class.curriculum:
            group = found.setdefault(SPECIALITY[subject], [])
            if school_class not in group:
                group.append(school_class)
    return found


def _hours(school_class: SchoolClass, speciality: str) -> int:
    return sum(h for s, h in school_class.curriculum if SPECIALITY[s] == speciality)


def _split_by_load(classes: list[SchoolClass], hours: list[int]) -> list[list[SchoolClass]]:
    """Split a speciality's classes between as many teachers as its weekly hours need."""
    total = sum(hours)
    teachers = max(1, min(len(classes), round(total / TEACHER_WEEKLY_HOURS)))
    groups: list[list[SchoolClass]] = [[] for _ in range(teachers)]
    done = 0
    for school_class, load in zip(classes, hours):
        groups[min(teachers - 1, int(done * teachers / total))].append(school_class)
        done += load
    return [group for group in groups if group]


# ---------------------------------------------------------------- the entry points


def generate_demo_data(
    folder: str | Path,
    *,
    schools: int = 2,
    students: int = 60,
    seed: int = 1,
    today: date | None = None,
    weeks: int = 2,
    grades_per_day: float = 1.0,
    full_attendance: bool | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Write the ten CSV files of a made-up city into `folder` (see the module docstring).

    `students` is the number of pupils per school; `weeks` the school weeks of diary
    ending at `today`; `grades_per_day` the mean number of grades a pupil gets a school
    day; `full_attendance` None picks by size; `workers` None picks by size and CPUs
    (the files are the same for any number of workers).
    """
    _check_sizes(schools, students, weeks, grades_per_day)
    calendar = SchoolCalendar.around(today or date.today(), weeks)
    small = schools * students * weeks <= SMALL_FOLDER
    city = _CityGenerator(random.Random(seed), calendar, grades_per_day=grades_per_day,
                          full_attendance=small if full_attendance is None else full_attendance)
    if workers is None:
        workers = 1 if small else min(MAX_WORKERS, os.cpu_count() or 1, schools)
    city_schools = city.plan_schools(schools)
    with _Sheets(Path(folder)) as sheets, _DiaryRunner(workers) as diaries:
        for index, school in enumerate(city_schools):
            city.build_school(school, index, schools, students)
            city.write_register(school, sheets)
            city.write_events(school, sheets)
            truant = city.specials.demo_children[0] if index == 0 else None
            diaries.submit(city.diary_plan(school, seed, truant))
        for index, pages in enumerate(diaries.results()):
            for name in DIARY_FILES:
                sheets.write_encoded(name, pages.data[name], pages.rows[name])
            if index == 0:
                city.specials.absent_lessons = pages.absent_lessons
    return _summarise(Path(folder), city, city_schools, sheets.counts)


class _DiaryRunner:
    """Builds school diaries in worker processes (or in this one), handing them back in
    the order they were submitted."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[Future[_DiaryPages] | _DiaryPlan] = []

    def __enter__(self) -> _DiaryRunner:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def submit(self, plan: _DiaryPlan) -> None:
        self._pending.append(plan if self._pool is None
                             else self._pool.submit(write_school_diary, plan))

    def results(self) -> Iterator[_DiaryPages]:
        while self._pending:
            job = self._pending.pop(0)
            yield job.result() if isinstance(job, Future) else write_school_diary(job)


def _check_sizes(schools: int, students: int, weeks: int, grades_per_day: float) -> None:
    if schools < 1:
        raise ValueError("schools must be at least 1")
    if students < MIN_STUDENTS:
        raise ValueError(f"students (per school) must be at least {MIN_STUDENTS}")
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    if grades_per_day < 0:
        raise ValueError("grades_per_day must not be negative")


def _summarise(folder: Path, city: _CityGenerator, schools: list[School],
               counts: dict[str, int]) -> DemoSummary:
    specials, first = city.specials, schools[0]
    assert specials.demo_family and specials.two_guardian_child and specials.department
    assert specials.no_consent_guardian and specials.teacher_parent and specials.teacher_guardian
    director = next(m for m in first.staff if m.role == "director")
    unlaunched = [s.school_id for s in schools if not s.launched]
    cross = specials.cross_family
    return DemoSummary(
        folder=folder,
        today=city.calendar.today,
        absence_day=city.calendar.last_school_day,
        attendance_full=city.full_attendance,
        counts=dict(counts),
        multi_child_guardian_id=specials.demo_family.guardians[0].guardian_id,
        multi_child_student_ids=tuple(p.student_id for p in specials.demo_children),
        two_guardian_student_id=specials.two_guardian_child.student_id,
        two_guardian_ids=tuple(g.guardian_id for g in specials.two_guardian_child.family.guardians),
        no_consent_guardian_id=specials.no_consent_guardian.guardian_id,
        unlaunched_school_id=unlaunched[0] if unlaunched else None,
        teacher_parent_staff_id=specials.teacher_parent.staff_id,
        teacher_parent_guardian_id=specials.teacher_guardian.guardian_id,
        cross_school_guardian_id=cross.guardians[0].guardian_id if cross else None,
        cross_school_student_ids=tuple(p.student_id for p in specials.cross_children),
        absent_today_student_id=specials.demo_children[0].student_id,
        absent_today_lesson_ids=tuple(specials.absent_lessons),
        department_staff_id=specials.department.staff_id,
        demo_parent_phone=to_e164(specials.demo_family.guardians[0].phone.spelling),
        demo_teacher_phone=to_e164(city.demo_teacher(first).phone.spelling),
        demo_director_phone=to_e164(director.phone.spelling),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m storage.demo_data FOLDER [--schools N] [--students M] [--seed S] ...`"""
    parser = argparse.ArgumentParser(
        prog="python -m storage.demo_data",
        description="Write a deterministic demo folder of school-system CSV files.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--schools", type=int, default=2)
    parser.add_argument("--students", type=int, default=60, help="pupils per school")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weeks", type=int, default=2, help="school weeks of diary")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--grades-per-day", type=float, default=1.0)
    parser.add_argument("--attendance", choices=("auto", "full", "marks"), default="auto")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: by size)")
    args = parser.parse_args(argv)
    full = {"auto": None, "full": True, "marks": False}[args.attendance]
    started = time.perf_counter()
    try:
        summary = generate_demo_data(args.folder, schools=args.schools, students=args.students,
                                     seed=args.seed, today=args.today, weeks=args.weeks,
                                     grades_per_day=args.grades_per_day, full_attendance=full,
                                     workers=args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    print(summary.describe())
    print(f"  written in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
