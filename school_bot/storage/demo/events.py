"""A school's events: a few school events in the diary's period and ahead (one tomorrow),
the season's festivities, and class events with a parents' meeting of the first class
tomorrow."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from .city import School
from .school_calendar import KYIV, SchoolCalendar

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


def event_rows(rng: random.Random, calendar: SchoolCalendar,
               school: School) -> list[tuple[Any, ...]]:
    """The school's rows of events.csv."""
    today, period = calendar.today, calendar.period
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
    return rows
