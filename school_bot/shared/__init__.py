"""The product's shared language, which every package may use and which uses none of
them: messages in and out (`events`), their JSON form and the delivery interface the
outbox speaks (`delivery`), translation lookups (`i18n`; the catalog tools
`i18n_tools`), and the settings (`settings`).
"""
