"""Customer notification templates: one per event a customer cares about, in English, German
and Italian (a customer's other language falls back to English).

`render(event_type, entity, language)` answers the topic, title and body, or None when the
event tells the customer nothing (e.g. a card payment of an invoice: `invoice_paid` says it).
Money and dates are formatted for the customer's language (Babel); amounts stay exact (integer
minor units → Decimal, never float).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from services.common.money import minor_unit_exponent

LANGUAGES = ("en", "de", "it")

# topics a customer can choose channels for; `locked` ones always reach the portal inbox
TOPICS = {
    "account": {"label": "Account and security", "locked": True},
    "billing": {"label": "Bills and payments", "locked": False},
    "wallet": {"label": "Wallet", "locked": False},
    "service": {"label": "My services", "locked": False},
    "cards": {"label": "Cards", "locked": False},
    "vouchers": {"label": "Vouchers", "locked": False},
    "support": {"label": "Support requests", "locked": False},
    "promotions": {"label": "Offers and promotions", "locked": False},
    "maintenance": {"label": "Service notices", "locked": True},
}
# the defaults without a stored preference: everything on, but promotions only in the inbox
DEFAULT_OFF = {("promotions", "email")}
# sent by e-mail whatever the preferences, and never to the inbox (a sign-in link is useless
# there, and must reach the customer when they cannot sign in)
EMAIL_ONLY = {"portal_link_issued"}


@dataclass(frozen=True)
class Template:
    topic: str
    texts: dict[str, tuple[str, str]]  # language → (title, body), str.format placeholders


T = Template
TEMPLATES: dict[str, Template] = {
    "customer_registered": T("account", {
        "en": ("Welcome, {name}", "Your account is ready. Here you can manage your services, "
                                  "pay and top up, and ask us for help."),
        "de": ("Willkommen, {name}", "Ihr Konto ist eingerichtet. Hier verwalten Sie Ihre "
                                     "Dienste, bezahlen, laden auf und erreichen unseren Support."),
        "it": ("Benvenuto, {name}", "Il tuo account è pronto. Qui gestisci i tuoi servizi, paghi, "
                                    "ricarichi e chiedi assistenza.")}),
    "portal_link_issued": T("account", {
        "en": ("Your sign-in link", "Sign in to your account with this link: {url}\nIt works "
                                    "once, until {expires}. If you did not ask us for it, "
                                    "ignore this message."),
        "de": ("Ihr Anmeldelink", "Melden Sie sich mit diesem Link an: {url}\nEr gilt einmal, "
                                  "bis {expires}. Haben Sie ihn nicht angefordert, ignorieren Sie "
                                  "diese Nachricht."),
        "it": ("Il tuo link di accesso", "Accedi al tuo account con questo link: {url}\nFunziona "
                                         "una volta, fino al {expires}. Se non l'hai chiesto tu, "
                                         "ignora questo messaggio.")}),
    "password_changed": T("account", {
        "en": ("Your password was changed", "Your password was changed and your other sessions "
                                            "were signed out. If this was not you, contact us."),
        "de": ("Ihr Passwort wurde geändert", "Ihr Passwort wurde geändert und Ihre anderen "
                                              "Sitzungen abgemeldet. Waren Sie das nicht, melden "
                                              "Sie sich bei uns."),
        "it": ("La password è stata cambiata", "La tua password è stata cambiata e le altre "
                                               "sessioni sono state chiuse. Se non sei stato tu, "
                                               "contattaci.")}),
    "invoice_issued": T("billing", {
        "en": ("New bill {number}", "Your bill {number} of {total} is ready. It is due on {due}."),
        "de": ("Neue Rechnung {number}", "Ihre Rechnung {number} über {total} ist da. Sie ist "
                                         "am {due} fällig."),
        "it": ("Nuova fattura {number}", "La fattura {number} di {total} è disponibile. Scade il "
                                         "{due}.")}),
    "invoice_payment_due": T("billing", {
        "en": ("Bill {number} is due in {days} days", "{amount_due} is due on {due}."),
        "de": ("Rechnung {number} ist in {days} Tagen fällig", "{amount_due} sind am {due} "
                                                               "fällig."),
        "it": ("La fattura {number} scade tra {days} giorni", "{amount_due} da pagare entro il "
                                                              "{due}.")}),
    "invoice_overdue": T("billing", {
        "en": ("Bill {number} is overdue", "{amount_due} was due on {due}. Please pay it now to "
                                           "keep your services."),
        "de": ("Rechnung {number} ist überfällig", "{amount_due} waren am {due} fällig. Bitte "
                                                   "zahlen Sie jetzt, damit Ihre Dienste aktiv "
                                                   "bleiben."),
        "it": ("La fattura {number} è scaduta", "{amount_due} erano da pagare entro il {due}. "
                                                "Paga ora per mantenere i tuoi servizi.")}),
    "invoice_payment_reminder": T("billing", {
        "en": ("Reminder: bill {number}", "{amount_due} is still open. {next_step}"),
        "de": ("Erinnerung: Rechnung {number}", "{amount_due} sind noch offen. {next_step}"),
        "it": ("Promemoria: fattura {number}", "{amount_due} ancora da pagare. {next_step}")}),
    "invoice_paid": T("billing", {
        "en": ("Bill {number} is paid", "Thank you: we received {total} for bill {number}."),
        "de": ("Rechnung {number} ist bezahlt", "Danke: Wir haben {total} für die Rechnung "
                                                "{number} erhalten."),
        "it": ("Fattura {number} pagata", "Grazie: abbiamo ricevuto {total} per la fattura "
                                          "{number}.")}),
    "invoice_collection_failed": T("billing", {
        "en": ("Services suspended: bill {number} unpaid", "We could not collect {amount_due} "
                                                           "for bill {number}, so your services "
                                                           "are suspended. Pay it to resume "
                                                           "them at once."),
        "de": ("Dienste gesperrt: Rechnung {number} offen", "Wir konnten {amount_due} für die "
                                                            "Rechnung {number} nicht einziehen; "
                                                            "Ihre Dienste sind gesperrt. Nach "
                                                            "der Zahlung laufen sie sofort "
                                                            "wieder."),
        "it": ("Servizi sospesi: fattura {number} non pagata", "Non siamo riusciti a incassare "
                                                               "{amount_due} per la fattura "
                                                               "{number}: i servizi sono "
                                                               "sospesi. Pagala per riattivarli "
                                                               "subito.")}),
    "credit_note_issued": T("billing", {
        "en": ("Credit of {amount}", "We credited {amount} on bill {invoice_number} "
                                     "({reason})."),
        "de": ("Gutschrift über {amount}", "Wir haben Ihnen {amount} zur Rechnung "
                                           "{invoice_number} gutgeschrieben ({reason})."),
        "it": ("Nota di credito di {amount}", "Ti abbiamo accreditato {amount} sulla fattura "
                                              "{invoice_number} ({reason}).")}),
    "payment_succeeded": T("wallet", {
        "en": ("Payment of {amount} received", "Thank you: your card payment of {amount} "
                                               "went through."),
        "de": ("Zahlung über {amount} erhalten", "Danke: Ihre Kartenzahlung über {amount} ist "
                                                 "eingegangen."),
        "it": ("Pagamento di {amount} ricevuto", "Grazie: il pagamento con carta di {amount} è "
                                                 "andato a buon fine.")}),
    "payment_failed": T("billing", {
        "en": ("Payment of {amount} failed", "Your card was declined ({reason}). {next_step}"),
        "de": ("Zahlung über {amount} fehlgeschlagen", "Ihre Karte wurde abgelehnt ({reason}). "
                                                        "{next_step}"),
        "it": ("Pagamento di {amount} non riuscito", "La carta è stata rifiutata ({reason}). "
                                                     "{next_step}")}),
    "subscription_suspended": T("service", {
        "en": ("{package} is suspended", "Your {package} service is suspended: {reason}. Pay "
                                         "what is due to resume it at once."),
        "de": ("{package} ist gesperrt", "Ihr Dienst {package} ist gesperrt: {reason}. Nach der "
                                         "Zahlung läuft er sofort wieder."),
        "it": ("{package} è sospeso", "Il servizio {package} è sospeso: {reason}. Paga il "
                                      "dovuto per riattivarlo subito.")}),
    "subscription_resumed": T("service", {
        "en": ("{package} is active again", "Your {package} service is running again."),
        "de": ("{package} ist wieder aktiv", "Ihr Dienst {package} läuft wieder."),
        "it": ("{package} è di nuovo attivo", "Il servizio {package} è di nuovo attivo.")}),
    "subscription_renewed": T("service", {
        "en": ("{package} renewed", "Your {package} service was renewed until {period_end}."),
        "de": ("{package} verlängert", "Ihr Dienst {package} wurde bis {period_end} "
                                       "verlängert."),
        "it": ("{package} rinnovato", "Il servizio {package} è stato rinnovato fino al "
                                      "{period_end}.")}),
    "subscription_renewal_upcoming": T("service", {
        "en": ("{package} renews on {date}", "Your {package} service renews on {date} for "
                                             "{amount}."),
        "de": ("{package} verlängert sich am {date}", "Ihr Dienst {package} verlängert sich am "
                                                      "{date} für {amount}."),
        "it": ("{package} si rinnova il {date}", "Il servizio {package} si rinnova il {date} "
                                                 "per {amount}.")}),
    "subscription_stops_soon": T("wallet", {
        "en": ("{package} stops in {days} days", "Your wallet holds {balance}, less than the "
                                                 "{amount} the renewal on {date} needs. Top up "
                                                 "before then to keep {package} running."),
        "de": ("{package} endet in {days} Tagen", "Ihr Guthaben von {balance} reicht nicht "
                                                  "für die Verlängerung am {date} ({amount}). "
                                                  "Laden Sie vorher auf, damit {package} "
                                                  "weiterläuft."),
        "it": ("{package} si ferma tra {days} giorni", "Il tuo credito di {balance} non basta "
                                                       "per il rinnovo del {date} ({amount}). "
                                                       "Ricarica prima per non interrompere "
                                                       "{package}.")}),
    "subscription_cancelled": T("service", {
        "en": ("{package} cancelled", "Your {package} service has ended."),
        "de": ("{package} gekündigt", "Ihr Dienst {package} ist beendet."),
        "it": ("{package} disdetto", "Il servizio {package} è terminato.")}),
    "wallet_low_balance": T("wallet", {
        "en": ("Your balance is low", "Your wallet holds {balance}. Top up to keep your "
                                      "services running."),
        "de": ("Ihr Guthaben ist niedrig", "Ihr Guthaben beträgt {balance}. Laden Sie auf, "
                                           "damit Ihre Dienste weiterlaufen."),
        "it": ("Il tuo credito è basso", "Il tuo credito è di {balance}. Ricarica per non "
                                         "interrompere i servizi.")}),
    "payment_method_expiring": T("cards", {
        "en": ("Your card ending {last4} expires soon", "Your {brand} card ending {last4} "
                                                        "expires {month}/{year}. Add a new "
                                                        "card to keep paying without "
                                                        "interruption."),
        "de": ("Ihre Karte mit Endziffern {last4} läuft ab", "Ihre {brand}-Karte mit "
                                                             "Endziffern {last4} läuft "
                                                             "{month}/{year} ab. Hinterlegen "
                                                             "Sie eine neue Karte."),
        "it": ("La carta che termina con {last4} sta per scadere", "La carta {brand} che "
                                                                   "termina con {last4} scade "
                                                                   "il {month}/{year}. Aggiungi "
                                                                   "una nuova carta.")}),
    "voucher_redeemed": T("vouchers", {
        "en": ("Voucher redeemed", "{value} from voucher {serial} was added to your wallet."),
        "de": ("Gutschein eingelöst", "{value} aus dem Gutschein {serial} wurden Ihrem "
                                      "Guthaben gutgeschrieben."),
        "it": ("Buono riscattato", "{value} dal buono {serial} sono stati aggiunti al tuo "
                                   "credito.")}),
    "ticket_opened": T("support", {
        "en": ("We received your request #{number}", "“{subject}” is with our support team. "
                                                     "We will keep you posted here."),
        "de": ("Ihre Anfrage #{number} ist eingegangen", "„{subject}“ liegt bei unserem "
                                                         "Support. Wir halten Sie hier auf "
                                                         "dem Laufenden."),
        "it": ("Abbiamo ricevuto la richiesta #{number}", "«{subject}» è in mano al nostro "
                                                          "supporto. Ti aggiorneremo qui.")}),
    "ticket_reply": T("support", {
        "en": ("New reply on your request #{number}", "{text}"),
        "de": ("Neue Antwort auf Ihre Anfrage #{number}", "{text}"),
        "it": ("Nuova risposta alla richiesta #{number}", "{text}")}),
    "ticket_waiting": T("support", {
        "en": ("We need your answer on request #{number}", "Please reply to “{subject}” so we "
                                                           "can go on."),
        "de": ("Wir brauchen Ihre Antwort zu Anfrage #{number}", "Bitte antworten Sie auf "
                                                                 "„{subject}“, damit wir "
                                                                 "weitermachen können."),
        "it": ("Ci serve una tua risposta sulla richiesta #{number}", "Rispondi a «{subject}» "
                                                                      "per andare avanti.")}),
    "ticket_resolved": T("support", {
        "en": ("Your request #{number} is resolved", "“{subject}”: {resolution}{credit_text}"),
        "de": ("Ihre Anfrage #{number} ist gelöst", "„{subject}“: {resolution}{credit_text}"),
        "it": ("La richiesta #{number} è risolta", "«{subject}»: {resolution}{credit_text}")}),
}
CREDIT_TEXT = {"en": " As an apology we credit you {credit}.",
               "de": " Als Entschuldigung schreiben wir Ihnen {credit} gut.",
               "it": " Per scusarci ti accreditiamo {credit}."}

DECLINES = {
    "en": {"card_declined": "the card was declined", "insufficient_funds": "insufficient funds",
           "expired_card": "the card has expired", "card_removed": "the card was removed"},
    "de": {"card_declined": "Karte abgelehnt", "insufficient_funds": "Deckung nicht "
                                                                     "ausreichend",
           "expired_card": "Karte abgelaufen", "card_removed": "Karte entfernt"},
    "it": {"card_declined": "carta rifiutata", "insufficient_funds": "fondi insufficienti",
           "expired_card": "carta scaduta", "card_removed": "carta rimossa"},
}
NEXT_RETRY = {"en": "We will try again on {date}; you can also pay now with another card.",
              "de": "Wir versuchen es am {date} erneut; Sie können auch jetzt mit einer anderen "
                    "Karte zahlen.",
              "it": "Riproveremo il {date}; puoi anche pagare ora con un'altra carta."}
NO_RETRY = {"en": "Please pay with another card.", "de": "Bitte zahlen Sie mit einer anderen "
                                                         "Karte.",
            "it": "Paga con un'altra carta."}
NEXT_STEP_CHARGE = {"en": "We will charge your card again on {date}.",
                    "de": "Wir belasten Ihre Karte erneut am {date}.",
                    "it": "Addebiteremo di nuovo la carta il {date}."}
NEXT_STEP_PAY = {"en": "Please pay by {date}.", "de": "Bitte zahlen Sie bis {date}.",
                 "it": "Paga entro il {date}."}
LAST_STEP = {"en": " If it is not paid by then, your services will be suspended.",
             "de": " Ist sie bis dahin nicht bezahlt, werden Ihre Dienste gesperrt.",
             "it": " Se non sarà pagata entro allora, i servizi saranno sospesi."}
SUSPENSION_REASONS = {
    "en": {"unpaid_invoice": "a bill is unpaid", "insufficient_balance": "the wallet balance "
                                                                         "is too low"},
    "de": {"unpaid_invoice": "eine Rechnung ist offen", "insufficient_balance": "das Guthaben "
                                                                                "reicht nicht"},
    "it": {"unpaid_invoice": "una fattura non è pagata", "insufficient_balance": "il credito "
                                                                                 "non basta"},
}


def money(value: dict | None, language: str) -> str:
    if not value:
        return ""
    exponent = minor_unit_exponent(value["currency"])
    return format_currency(Decimal(value["amount"]).scaleb(-exponent), value["currency"],
                           locale=language)


def day(value: str | None, language: str) -> str:
    if not value:
        return ""
    when = dt.date.fromisoformat(value[:10])
    return format_date(when, "medium", locale=language)


def _context(event_type: str, e: dict, lang: str) -> dict | None:
    """The placeholders of one event's template; None: nothing to tell the customer."""
    if event_type == "payment_succeeded" and e.get("purpose") != "top_up":
        return None  # an invoice payment is told by invoice_paid; a voucher by its receipt
    if event_type == "payment_failed" and e.get("purpose") == "invoice" \
            and e.get("decline_code") == "invoice_not_payable":
        return None  # a racing payment closed uncharged: nothing failed for the customer
    ctx = {k: v for k, v in e.items() if isinstance(v, str | int)}
    ctx.update({
        "name": e.get("name") or "",
        "number": e.get("number") or "",
        "total": money(e.get("total"), lang), "amount": money(e.get("amount"), lang),
        "amount_due": money(e.get("amount_due"), lang), "value": money(e.get("value"), lang),
        "balance": money(e.get("balance"), lang), "due": day(e.get("due_date"), lang),
        "days": e.get("days_left", ""),
        "package": (e.get("package") or {}).get("name", ""),
        "period_end": day((e.get("current_period") or {}).get("end"), lang),
        "month": e.get("exp_month", ""), "year": e.get("exp_year", ""),
        "reason": e.get("reason") or "",
    })
    if event_type == "payment_failed":
        code = e.get("decline_code") or "card_declined"
        ctx["reason"] = DECLINES.get(lang, DECLINES["en"]).get(code, code)
        nxt = e.get("next_retry_at")
        ctx["next_step"] = (NEXT_RETRY[lang].format(date=day(nxt, lang)) if nxt
                            else NO_RETRY[lang])
    if event_type == "invoice_payment_reminder":
        template = NEXT_STEP_CHARGE if e.get("will_charge_card") else NEXT_STEP_PAY
        ctx["next_step"] = template[lang].format(date=day(e.get("at"), lang)) + (
            LAST_STEP[lang] if e.get("suspension_follows") else "")
    if event_type in ("subscription_renewal_upcoming", "subscription_stops_soon"):
        renewal = e.get("renewal") or {}
        ctx["amount"] = money(renewal.get("amount"), lang)
        ctx["date"] = day(renewal.get("date"), lang)
        ctx["balance"] = money(e.get("wallet_balance"), lang)
    if event_type.startswith("ticket_"):
        ctx["text"] = e.get("text") or ""
        resolution = (e.get("resolution") or "").strip()
        ctx["resolution"] = resolution + ("" if not resolution or resolution[-1] in ".!?…"
                                          else ".")
        credit = e.get("service_credit")
        ctx["credit_text"] = (CREDIT_TEXT[lang].format(credit=money(credit, lang))
                              if credit else "")
    if event_type == "portal_link_issued":
        expires = e.get("expires_at") or ""
        ctx["expires"] = (format_datetime(dt.datetime.fromisoformat(expires), "medium",
                                          tzinfo="UTC", locale=lang) + " UTC") if expires else ""
    if event_type == "subscription_suspended":
        reasons = SUSPENSION_REASONS.get(lang, SUSPENSION_REASONS["en"])
        ctx["reason"] = reasons.get(e.get("reason") or "", e.get("reason") or "")
    return ctx


def render(event_type: str, entity: dict, language: str | None) -> tuple[str, str, str] | None:
    """(topic, title, body) for the customer, or None."""
    if event_type == "subscription_renewal_upcoming" and entity.get("wallet_covers") is False:
        event_type = "subscription_stops_soon"
    if event_type == "ticket_updated":  # an agent's reply or a question; not the customer's own
        event_type = {"reply": "ticket_reply", "waiting_on_customer": "ticket_waiting"}.get(
            entity.get("change"), "")
    template = TEMPLATES.get(event_type)
    if template is None:
        return None
    lang = language if language in LANGUAGES else "en"
    ctx = _context(event_type, entity, lang)
    if ctx is None:
        return None
    title, body = template.texts[lang]
    return template.topic, title.format(**ctx), body.format(**ctx)
