"""The log guard itself must catch what it is there to catch."""

from tests.support.pii_guard import find_personal_data


def test_unmasked_phones_in_every_spelling_are_found() -> None:
    for phone in ("+380501234567", "380501234567", "050 123 45 67", "+38 (050) 123-45-67", "0501234567"):
        assert find_personal_data(f"linked chat for {phone}"), phone


def test_masked_phones_and_ids_are_not_found() -> None:
    assert find_personal_data("linked +380*****4567 account=12 chat=123456789012") == []


def test_full_ukrainian_names_are_found() -> None:
    assert find_personal_data("guardian Шевченко Тарас Григорович erased")
    assert find_personal_data("Коваленко Олена Іванівна")
    assert find_personal_data("Ліцей №7, 5-А, Математика") == []
