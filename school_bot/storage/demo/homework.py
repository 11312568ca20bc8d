"""Homework due on a lesson: most subjects most of the time (art, technology and health less
often; physical education and defence of Ukraine never), from the subject's usual tasks."""

from __future__ import annotations

import random

from .city import Slot
from .diary_texts import HOMEWORK, HOMEWORK_SHARE
from .lessons import SUBJECT_FIELD
from .sheets import csv_field


class HomeworkBook:
    """A school's homework.csv lines."""

    def __init__(self, rng: random.Random, key: str) -> None:
        self.rng, self.key = rng, key
        self.number = 0

    def set(self, class_id: str, date_text: str, slot: Slot, homework: list[str]) -> None:
        rng, subject = self.rng, slot[1]
        templates = HOMEWORK.get(subject)
        if not templates or rng.random() > HOMEWORK_SHARE.get(subject, 0.75):
            return
        n = rng.randint(10, 480)
        text = rng.choice(templates).format(
            n=n, n2=n + rng.randint(1, 4), n3=n + rng.randint(5, 9), p=rng.randint(8, 230),
            p2=rng.randint(231, 260), s=rng.randint(1, 40), e=rng.randint(1, 12))
        self.number += 1
        homework.append(f"HW-{self.key}-{self.number},{class_id},"
                        f"{SUBJECT_FIELD[subject]},{date_text},{csv_field(text)},{slot[2]}\n")
