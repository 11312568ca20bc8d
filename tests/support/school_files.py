"""Files as the school system writes them, for the import's tests: `write` one, or the
small hand-made folder (`base_folder`) that grades, attendance and guardians refer to.

Two schools: S1 (launched; class 5-А with Коваленко Іван and Бондар Олена, and two
lessons on 10 March 2025) and S2 (not launched; class 6-Б with Мельник Андрій).
"""

from __future__ import annotations

from pathlib import Path

SCHOOLS = "school_id,name,launched,timezone\nS1,Ліцей №1,yes,Europe/Kyiv\nS2,Гімназія №2,no,\n"
CLASSES = "class_id,school_id,name,homeroom_teacher_id\nC1,S1,5-А,T1\nC2,S2,6-Б,\n"
STUDENTS = ("student_id,class_id,full_name\nP1,C1,Коваленко Іван Петрович\n"
            "P2,C1,Бондар Олена Іванівна\nP3,C2,Мельник Андрій Олегович\n")
LESSONS = ("lesson_id,class_id,subject,teacher_id,date,starts_at,ends_at,number,topic\n"
           "L1,C1,Математика,T1,2025-03-10,08:30,09:15,1,Дроби\n"
           "L2,C1,Історія,T2,2025-03-10,09:25,10:10,2,\n")


def write(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def base_folder(folder: Path) -> Path:
    write(folder, "schools.csv", SCHOOLS)
    write(folder, "classes.csv", CLASSES)
    write(folder, "students.csv", STUDENTS)
    write(folder, "lessons.csv", LESSONS)
    return folder
