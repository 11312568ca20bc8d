"""Reports for directors and the education department: coverage, diary, absences, delivery.

`queries` answers each report with one aggregate SQL query (GROUP BY in the database),
`render` turns the table into CSV, XLSX or a PNG chart in the reader's language,
`service.generate_report` does both and writes the audit entry; `cli` is
`python run_bot.py report ...` and `handlers/reports_view.py` the in-bot `/report`.
"""
