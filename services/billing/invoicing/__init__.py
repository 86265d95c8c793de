"""Invoicing, for postpaid accounts: billing runs, invoices and their arithmetic and numbers,
collection (autopay, reminders, dunning), credit notes, service credits, PDFs.

May use `money` (paying an invoice) and `subscriptions` (tax rules, suspension and
reinstatement after dunning); neither uses it.
"""
