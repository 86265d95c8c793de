"""Customer notification templates: one per event a customer cares about, in every language the
portal speaks (English, German, Italian, Thai: SUPPORTED_LANGUAGES; an unknown language falls
back to English). tests/unit/test_notifier_templates.py fails when a text lacks a language.

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
from services.common.schemas import SUPPORTED_LANGUAGES

LANGUAGES = SUPPORTED_LANGUAGES

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
EMAIL_ONLY = {"portal_link_issued", "password_reset_requested", "email_verification_requested",
              "household_invitation"}


@dataclass(frozen=True)
class Template:
    topic: str
    texts: dict[str, tuple[str, str]]  # language → (title, body), str.format placeholders


T = Template
TEMPLATES: dict[str, Template] = {
    "customer_registered": T("account", {
        "en": ("Welcome, {name}",
               "Your account is ready. Here you can manage your services, pay and top up, and "
               "ask us for help."),
        "de": ("Willkommen, {name}",
               "Ihr Konto ist eingerichtet. Hier verwalten Sie Ihre Dienste, bezahlen, laden "
               "auf und erreichen unseren Support."),
        "it": ("Benvenuto, {name}",
               "Il suo account è pronto. Da qui può gestire i suoi servizi, pagare, ricaricare il "
               "credito e chiedere assistenza."),
        "th": ("ยินดีต้อนรับ คุณ{name}",
               "บัญชีของคุณพร้อมใช้งานแล้ว คุณสามารถจัดการบริการ ชำระเงิน เติมเงิน "
               "และขอความช่วยเหลือจากเราได้ที่นี่")}),
    "portal_link_issued": T("account", {
        "en": ("Your sign-in link",
               "Sign in to your account with this link: {url}\nIt works once, until {expires}. "
               "If you did not ask us for it, ignore this message."),
        "de": ("Ihr Anmeldelink",
               "Melden Sie sich mit diesem Link an: {url}\nEr gilt einmal, bis {expires}. Haben "
               "Sie ihn nicht angefordert, ignorieren Sie diese Nachricht."),
        "it": ("Il suo link di accesso",
               "Acceda al suo account con questo link: {url}\nÈ valido una sola volta, fino al "
               "{expires}. Se non lo ha richiesto, ignori questo messaggio."),
        "th": ("ลิงก์เข้าสู่ระบบของคุณ",
               "เข้าสู่ระบบบัญชีของคุณด้วยลิงก์นี้: {url}\nลิงก์ใช้ได้ครั้งเดียว ถึง {expires} "
               "หากคุณไม่ได้ขอลิงก์นี้ โปรดละเว้นข้อความนี้")}),
    "password_reset_requested": T("account", {
        "en": ("Reset your password",
               "Choose a new password with this link: {url}\nIt works once, until {expires}. "
               "If you did not ask for it, ignore this message: your password stays as it is."),
        "de": ("Passwort zurücksetzen",
               "Wählen Sie mit diesem Link ein neues Passwort: {url}\nEr gilt einmal, bis "
               "{expires}. Haben Sie ihn nicht angefordert, ignorieren Sie diese Nachricht: Ihr "
               "Passwort bleibt, wie es ist."),
        "it": ("Reimposti la password",
               "Scelga una nuova password con questo link: {url}\nÈ valido una sola volta, fino "
               "al {expires}. Se non lo ha richiesto, ignori questo messaggio: la password resta "
               "invariata."),
        "th": ("รีเซ็ตรหัสผ่านของคุณ",
               "ตั้งรหัสผ่านใหม่ด้วยลิงก์นี้: {url}\nลิงก์ใช้ได้ครั้งเดียว ถึง {expires} "
               "หากคุณไม่ได้ขอ โปรดละเว้นข้อความนี้ รหัสผ่านของคุณจะยังคงเหมือนเดิม")}),
    "email_verification_requested": T("account", {
        "en": ("Confirm your e-mail address",
               "Confirm that this address is yours with this link: {url}\nIt works until "
               "{expires}. Until then we keep using the address you had before."),
        "de": ("Bestätigen Sie Ihre E-Mail-Adresse",
               "Bestätigen Sie mit diesem Link, dass diese Adresse Ihnen gehört: {url}\nEr gilt "
               "bis {expires}. Bis dahin verwenden wir Ihre bisherige Adresse."),
        "it": ("Confermi il suo indirizzo e-mail",
               "Confermi che questo indirizzo è suo con questo link: {url}\nÈ valido fino al "
               "{expires}. Fino ad allora useremo l'indirizzo precedente."),
        "th": ("ยืนยันที่อยู่อีเมลของคุณ",
               "ยืนยันว่าที่อยู่นี้เป็นของคุณด้วยลิงก์นี้: {url}\nลิงก์ใช้ได้ถึง {expires} "
               "ระหว่างนี้เราจะยังใช้ที่อยู่เดิมของคุณ")}),
    "household_invitation": T("account", {
        "en": ("{holder_name} invites you to their household",
               "{holder_name} invites you to use their account: your services on their bill. "
               "Accept with this link, signed in with this address (or create an account with "
               "it first): {url}\nIt works once, until {expires}."),
        "de": ("{holder_name} lädt Sie in den Haushalt ein",
               "{holder_name} lädt Sie ein, das eigene Konto mitzunutzen: Ihre Dienste auf deren "
               "Rechnung. Nehmen Sie mit diesem Link an, angemeldet mit dieser Adresse (oder "
               "legen Sie zuerst ein Konto damit an): {url}\nEr gilt einmal, bis {expires}."),
        "it": ("{holder_name} la invita nella sua famiglia",
               "{holder_name} la invita a usare il suo account: i suoi servizi sulla sua "
               "fattura. Accetti con questo link, accedendo con questo indirizzo (o crei prima "
               "un account con esso): {url}\nÈ valido una sola volta, fino al {expires}."),
        "th": ("{holder_name} เชิญคุณเข้าร่วมครัวเรือน",
               "{holder_name} เชิญคุณใช้บัญชีร่วมกัน บริการของคุณจะอยู่ในบิลของเขา "
               "ตอบรับด้วยลิงก์นี้โดยเข้าสู่ระบบด้วยอีเมลนี้ (หรือสร้างบัญชีด้วยอีเมลนี้ก่อน): "
               "{url}\nลิงก์ใช้ได้ครั้งเดียว ถึง {expires}")}),
    "data_export_ready": T("account", {
        "en": ("Your data is ready to download",
               "The archive of your data you asked for is ready. Download it in Settings → "
               "Privacy until {expires}: {url}"),
        "de": ("Ihre Daten stehen zum Download bereit",
               "Das Archiv Ihrer Daten, das Sie angefordert haben, ist fertig. Laden Sie es bis "
               "{expires} unter Einstellungen → Datenschutz herunter: {url}"),
        "it": ("I suoi dati sono pronti da scaricare",
               "L'archivio dei suoi dati che ha richiesto è pronto. Lo scarichi in Impostazioni "
               "→ Privacy entro il {expires}: {url}"),
        "th": ("ข้อมูลของคุณพร้อมให้ดาวน์โหลดแล้ว",
               "ไฟล์ข้อมูลของคุณที่ขอไว้พร้อมแล้ว ดาวน์โหลดได้ที่ การตั้งค่า → ความเป็นส่วนตัว "
               "ภายใน {expires}: {url}")}),
    "account_deletion_scheduled": T("account", {
        "en": ("Your account will be deleted",
               "As you asked, your account and your personal data will be deleted on {due}. "
               "Until then you can cancel this in Settings → Privacy. Bills and payments are "
               "kept, without your name, as the law requires."),
        "de": ("Ihr Konto wird gelöscht",
               "Wie gewünscht werden Ihr Konto und Ihre persönlichen Daten am {due} gelöscht. "
               "Bis dahin können Sie das unter Einstellungen → Datenschutz abbrechen. Rechnungen "
               "und Zahlungen bleiben ohne Ihren Namen erhalten, wie es das Gesetz verlangt."),
        "it": ("Il suo account sarà eliminato",
               "Come richiesto, il suo account e i suoi dati personali saranno eliminati il "
               "{due}. Fino ad allora può annullare in Impostazioni → Privacy. Fatture e "
               "pagamenti restano, senza il suo nome, come richiesto dalla legge."),
        "th": ("บัญชีของคุณจะถูกลบ",
               "ตามที่คุณขอ บัญชีและข้อมูลส่วนตัวของคุณจะถูกลบในวันที่ {due} "
               "ก่อนถึงวันนั้นคุณยกเลิกได้ที่ การตั้งค่า → ความเป็นส่วนตัว "
               "ใบแจ้งหนี้และการชำระเงินจะถูกเก็บไว้โดยไม่มีชื่อของคุณตามที่กฎหมายกำหนด")}),
    "account_deletion_cancelled": T("account", {
        "en": ("Your account stays", "You cancelled the deletion of your account. Nothing was "
                                     "deleted."),
        "de": ("Ihr Konto bleibt bestehen", "Sie haben die Löschung Ihres Kontos abgebrochen. "
                                            "Es wurde nichts gelöscht."),
        "it": ("Il suo account resta", "Ha annullato l'eliminazione del suo account. Non è stato "
                                       "eliminato nulla."),
        "th": ("บัญชีของคุณยังคงอยู่", "คุณยกเลิกการลบบัญชีแล้ว ไม่มีข้อมูลใดถูกลบ")}),
    "account_deletion_blocked": T("account", {
        "en": ("We could not delete your account yet",
               "Your account still has money owed or a balance left, so it was not deleted. "
               "Settle it, or contact us for a refund; we try again every day. You can also "
               "cancel the deletion in Settings → Privacy."),
        "de": ("Wir konnten Ihr Konto noch nicht löschen",
               "Auf Ihrem Konto sind noch Beträge offen oder ein Guthaben übrig, daher wurde es "
               "nicht gelöscht. Begleichen Sie sie oder bitten Sie uns um eine Erstattung; wir "
               "versuchen es täglich erneut. Sie können die Löschung auch unter Einstellungen → "
               "Datenschutz abbrechen."),
        "it": ("Non abbiamo ancora potuto eliminare il suo account",
               "Il suo account ha ancora importi dovuti o un saldo residuo, quindi non è stato "
               "eliminato. Li saldi o ci chieda un rimborso; riproviamo ogni giorno. Può anche "
               "annullare l'eliminazione in Impostazioni → Privacy."),
        "th": ("เรายังลบบัญชีของคุณไม่ได้",
               "บัญชีของคุณยังมียอดค้างชำระหรือยอดเงินคงเหลือ จึงยังไม่ถูกลบ "
               "กรุณาชำระหรือติดต่อเราเพื่อขอคืนเงิน เราจะลองใหม่ทุกวัน "
               "คุณยังยกเลิกการลบได้ที่ การตั้งค่า → ความเป็นส่วนตัว")}),
    "password_changed": T("account", {
        "en": ("Your password was changed",
               "Your password was changed and your other sessions were signed out. If this was "
               "not you, contact us."),
        "de": ("Ihr Passwort wurde geändert",
               "Ihr Passwort wurde geändert und Ihre anderen Sitzungen abgemeldet. Waren Sie "
               "das nicht, melden Sie sich bei uns."),
        "it": ("La sua password è stata cambiata",
               "La sua password è stata cambiata e le altre sessioni sono state chiuse. Se non "
               "è stato lei, ci contatti."),
        "th": ("รหัสผ่านของคุณถูกเปลี่ยนแล้ว",
               "รหัสผ่านของคุณถูกเปลี่ยนแล้ว และเซสชันอื่นทั้งหมดถูกออกจากระบบ "
               "หากคุณไม่ได้เป็นผู้ดำเนินการ กรุณาติดต่อเรา")}),
    "invoice_issued": T("billing", {
        "en": ("New bill {number}",
               "Your bill {number} of {total} is ready. It is due on {due}."),
        "de": ("Neue Rechnung {number}",
               "Ihre Rechnung {number} über {total} ist da. Sie ist am {due} fällig."),
        "it": ("Nuova fattura {number}",
               "La sua fattura {number} di {total} è disponibile. Scade il {due}."),
        "th": ("ใบแจ้งค่าบริการใหม่ {number}",
               "ใบแจ้งค่าบริการ {number} ยอด {total} พร้อมแล้ว ครบกำหนดชำระวันที่ {due}")}),
    "invoice_payment_due": T("billing", {
        "en": ("Bill {number} is due in {days} days",
               "{amount_due} is due on {due}."),
        "de": ("Rechnung {number} ist in {days} Tagen fällig",
               "{amount_due} sind am {due} fällig."),
        "it": ("La fattura {number} scade tra {days} giorni",
               "L'importo di {amount_due} è da pagare entro il {due}."),
        "th": ("ใบแจ้งค่าบริการ {number} จะครบกำหนดใน {days} วัน",
               "ยอด {amount_due} ครบกำหนดชำระวันที่ {due}")}),
    "invoice_overdue": T("billing", {
        "en": ("Bill {number} is overdue",
               "{amount_due} was due on {due}. Please pay it now to keep your services."),
        "de": ("Rechnung {number} ist überfällig",
               "{amount_due} waren am {due} fällig. Bitte zahlen Sie jetzt, damit Ihre Dienste "
               "aktiv bleiben."),
        "it": ("La fattura {number} è scaduta",
               "L'importo di {amount_due} era da pagare entro il {due}. La preghiamo di pagarlo "
               "ora per mantenere attivi i suoi servizi."),
        "th": ("ใบแจ้งค่าบริการ {number} เกินกำหนดชำระ",
               "ยอด {amount_due} ครบกำหนดชำระเมื่อวันที่ {due} "
               "กรุณาชำระตอนนี้เพื่อให้ใช้บริการได้ต่อเนื่อง")}),
    "invoice_payment_reminder": T("billing", {
        "en": ("Reminder: bill {number}",
               "{amount_due} is still open. {next_step}"),
        "de": ("Erinnerung: Rechnung {number}",
               "{amount_due} sind noch offen. {next_step}"),
        "it": ("Promemoria: fattura {number}",
               "L'importo di {amount_due} è ancora da pagare. {next_step}"),
        "th": ("แจ้งเตือน: ใบแจ้งค่าบริการ {number}",
               "ยังมียอดค้างชำระ {amount_due} {next_step}")}),
    "invoice_paid": T("billing", {
        "en": ("Bill {number} is paid",
               "Thank you: we received {total} for bill {number}."),
        "de": ("Rechnung {number} ist bezahlt",
               "Danke: Wir haben {total} für die Rechnung {number} erhalten."),
        "it": ("Fattura {number} pagata",
               "Grazie: abbiamo ricevuto {total} per la fattura {number}."),
        "th": ("ชำระใบแจ้งค่าบริการ {number} แล้ว",
               "ขอบคุณ เราได้รับเงิน {total} สำหรับใบแจ้งค่าบริการ {number} แล้ว")}),
    "invoice_collection_failed": T("billing", {
        "en": ("Services suspended: bill {number} unpaid",
               "We could not collect {amount_due} for bill {number}, so your services are "
               "suspended. Pay it to resume them at once."),
        "de": ("Dienste gesperrt: Rechnung {number} offen",
               "Wir konnten {amount_due} für die Rechnung {number} nicht einziehen; Ihre "
               "Dienste sind gesperrt. Nach der Zahlung laufen sie sofort wieder."),
        "it": ("Servizi sospesi: fattura {number} non pagata",
               "Non siamo riusciti ad addebitare {amount_due} per la fattura {number}, pertanto "
               "i suoi servizi sono sospesi. Effettui il pagamento per riattivarli subito."),
        "th": ("บริการถูกระงับ: ใบแจ้งค่าบริการ {number} ยังไม่ได้ชำระ",
               "เราไม่สามารถเรียกเก็บเงิน {amount_due} สำหรับใบแจ้งค่าบริการ {number} ได้ "
               "บริการของคุณจึงถูกระงับ กรุณาชำระเงินเพื่อกลับมาใช้บริการได้ทันที")}),
    "credit_note_issued": T("billing", {
        "en": ("Credit of {amount}",
               "We credited {amount} on bill {invoice_number} ({reason})."),
        "de": ("Gutschrift über {amount}",
               "Wir haben Ihnen {amount} zur Rechnung {invoice_number} gutgeschrieben "
               "({reason})."),
        "it": ("Nota di credito di {amount}",
               "Le abbiamo accreditato {amount} sulla fattura {invoice_number} ({reason})."),
        "th": ("ใบลดหนี้ยอด {amount}",
               "เราได้ออกใบลดหนี้ {amount} สำหรับใบแจ้งค่าบริการ {invoice_number} ({reason})")}),
    "payment_succeeded": T("wallet", {
        "en": ("Payment of {amount} received",
               "Thank you: your card payment of {amount} went through."),
        "de": ("Zahlung über {amount} erhalten",
               "Danke: Ihre Kartenzahlung über {amount} ist eingegangen."),
        "it": ("Pagamento di {amount} ricevuto",
               "Grazie: il suo pagamento con carta di {amount} è andato a buon fine."),
        "th": ("ได้รับชำระเงิน {amount} แล้ว",
               "ขอบคุณ การชำระเงินด้วยบัตรจำนวน {amount} สำเร็จแล้ว")}),
    "payment_failed": T("billing", {
        "en": ("Payment of {amount} failed",
               "Your card was declined ({reason}). {next_step}"),
        "de": ("Zahlung über {amount} fehlgeschlagen",
               "Ihre Karte wurde abgelehnt ({reason}). {next_step}"),
        "it": ("Pagamento di {amount} non riuscito",
               "La sua carta è stata rifiutata ({reason}). {next_step}"),
        "th": ("การชำระเงิน {amount} ไม่สำเร็จ",
               "บัตรของคุณถูกปฏิเสธ ({reason}) {next_step}")}),
    "wallet_debited": T("wallet", {
        "en": ("{amount} paid from your wallet",
               "We took {amount} from your wallet for {what}. Your balance is now {balance}."),
        "de": ("{amount} aus Ihrem Guthaben bezahlt",
               "Wir haben {amount} für {what} von Ihrem Guthaben abgebucht. Ihr Guthaben beträgt "
               "jetzt {balance}."),
        "it": ("{amount} pagati dal suo credito",
               "Abbiamo addebitato {amount} sul suo credito per {what}. Il credito residuo è "
               "{balance}."),
        "th": ("ชำระ {amount} จากกระเป๋าเงินของคุณแล้ว",
               "เราได้หักเงิน {amount} จากกระเป๋าเงินของคุณสำหรับ{what} "
               "ยอดเงินคงเหลือตอนนี้ {balance}")}),
    "subscription_suspended": T("service", {
        "en": ("{package} is suspended",
               "Your {package} service is suspended: {reason}. Pay what is due to resume it at "
               "once."),
        "de": ("{package} ist gesperrt",
               "Ihr Dienst {package} ist gesperrt: {reason}. Nach der Zahlung läuft er sofort "
               "wieder."),
        "it": ("{package} è sospeso",
               "Il servizio {package} è sospeso: {reason}. Paghi l'importo dovuto per "
               "riattivarlo subito."),
        "th": ("{package} ถูกระงับ",
               "บริการ {package} ของคุณถูกระงับ: {reason} "
               "กรุณาชำระยอดค้างเพื่อกลับมาใช้บริการได้ทันที")}),
    "subscription_resumed": T("service", {
        "en": ("{package} is active again",
               "Your {package} service is running again."),
        "de": ("{package} ist wieder aktiv",
               "Ihr Dienst {package} läuft wieder."),
        "it": ("{package} è di nuovo attivo",
               "Il servizio {package} è di nuovo attivo."),
        "th": ("{package} กลับมาใช้งานได้แล้ว",
               "บริการ {package} ของคุณกลับมาใช้งานได้ตามปกติแล้ว")}),
    "subscription_renewed": T("service", {
        "en": ("{package} renewed",
               "Your {package} service was renewed until {period_end}."),
        "de": ("{package} verlängert",
               "Ihr Dienst {package} wurde bis {period_end} verlängert."),
        "it": ("{package} rinnovato",
               "Il servizio {package} è stato rinnovato fino al {period_end}."),
        "th": ("ต่ออายุ {package} แล้ว",
               "บริการ {package} ของคุณได้รับการต่ออายุถึงวันที่ {period_end}")}),
    "subscription_renewal_upcoming": T("service", {
        "en": ("{package} renews on {date}",
               "Your {package} service renews on {date} for {amount}."),
        "de": ("{package} verlängert sich am {date}",
               "Ihr Dienst {package} verlängert sich am {date} für {amount}."),
        "it": ("{package} si rinnova il {date}",
               "Il servizio {package} si rinnova il {date} al costo di {amount}."),
        "th": ("{package} จะต่ออายุวันที่ {date}",
               "บริการ {package} ของคุณจะต่ออายุในวันที่ {date} ค่าบริการ {amount}")}),
    "subscription_stops_soon": T("wallet", {
        "en": ("{package} stops in {days} days",
               "Your wallet holds {balance}, less than the {amount} the renewal on {date} "
               "needs. Top up before then to keep {package} running."),
        "de": ("{package} endet in {days} Tagen",
               "Ihr Guthaben von {balance} reicht nicht für die Verlängerung am {date} "
               "({amount}). Laden Sie vorher auf, damit {package} weiterläuft."),
        "it": ("{package} si interrompe tra {days} giorni",
               "Il suo credito di {balance} non basta per il rinnovo del {date} ({amount}). "
               "Ricarichi prima di allora per continuare a usare {package}."),
        "th": ("{package} จะหยุดให้บริการใน {days} วัน",
               "กระเป๋าเงินของคุณมียอด {balance} ซึ่งน้อยกว่า {amount} "
               "ที่ต้องใช้ต่ออายุในวันที่ {date} กรุณาเติมเงินก่อนวันดังกล่าวเพื่อให้ใช้ "
               "{package} ได้ต่อเนื่อง")}),
    "subscription_cancelled": T("service", {
        "en": ("{package} cancelled",
               "Your {package} service has ended."),
        "de": ("{package} gekündigt",
               "Ihr Dienst {package} ist beendet."),
        "it": ("{package} disdetto",
               "Il servizio {package} è terminato."),
        "th": ("ยกเลิก {package} แล้ว",
               "บริการ {package} ของคุณสิ้นสุดแล้ว")}),
    "wallet_low_balance": T("wallet", {
        "en": ("Your balance is low",
               "Your wallet holds {balance}. Top up to keep your services running."),
        "de": ("Ihr Guthaben ist niedrig",
               "Ihr Guthaben beträgt {balance}. Laden Sie auf, damit Ihre Dienste weiterlaufen."),
        "it": ("Il suo credito è basso",
               "Il suo credito è di {balance}. Ricarichi per continuare a usare i suoi servizi."),
        "th": ("ยอดเงินของคุณเหลือน้อย",
               "กระเป๋าเงินของคุณมียอด {balance} กรุณาเติมเงินเพื่อให้ใช้บริการได้ต่อเนื่อง")}),
    "budget_alert": T("billing", {
        "en": ("{headline}",
               "{month}: {so_far} charged so far and {projected} expected by the end of the "
               "month, against your budget of {budget}."),
        "de": ("{headline}",
               "{month}: bisher {so_far} berechnet, bis Monatsende voraussichtlich {projected}, "
               "bei Ihrem Budget von {budget}."),
        "it": ("{headline}",
               "{month}: finora addebitati {so_far}, previsti {projected} entro la fine del "
               "mese, a fronte del suo budget di {budget}."),
        "th": ("{headline}",
               "{month}: เรียกเก็บแล้ว {so_far} คาดว่าจะเป็น {projected} ภายในสิ้นเดือน "
               "จากงบประมาณของคุณ {budget}")}),
    "payment_method_expiring": T("cards", {
        "en": ("Your card ending {last4} expires soon",
               "Your {brand} card ending {last4} expires {month}/{year}. Add a new card to keep "
               "paying without interruption."),
        "de": ("Ihre Karte mit Endziffern {last4} läuft ab",
               "Ihre {brand}-Karte mit Endziffern {last4} läuft {month}/{year} ab. Hinterlegen "
               "Sie eine neue Karte."),
        "it": ("La carta che termina con {last4} sta per scadere",
               "La sua carta {brand} che termina con {last4} scade a {month}/{year}. Aggiunga "
               "una nuova carta per continuare a pagare senza interruzioni."),
        "th": ("บัตรที่ลงท้ายด้วย {last4} ใกล้หมดอายุ",
               "บัตร {brand} ของคุณที่ลงท้ายด้วย {last4} จะหมดอายุ {month}/{year} "
               "กรุณาเพิ่มบัตรใหม่เพื่อให้ชำระเงินได้ต่อเนื่อง")}),
    "voucher_redeemed": T("vouchers", {
        "en": ("Voucher redeemed",
               "{value} from voucher {serial} was added to your wallet."),
        "de": ("Gutschein eingelöst",
               "{value} aus dem Gutschein {serial} wurden Ihrem Guthaben gutgeschrieben."),
        "it": ("Voucher riscattato",
               "Sono stati aggiunti al suo credito {value} dal voucher {serial}."),
        "th": ("ใช้บัตรเติมเงินแล้ว",
               "เติมเงิน {value} จากบัตรเติมเงิน {serial} เข้ากระเป๋าเงินของคุณแล้ว")}),
    "ticket_opened": T("support", {
        "en": ("We received your request #{number}",
               "“{subject}” is with our support team. We will keep you posted here."),
        "de": ("Ihre Anfrage #{number} ist eingegangen",
               "„{subject}“ liegt bei unserem Support. Wir halten Sie hier auf dem Laufenden."),
        "it": ("Abbiamo ricevuto la sua richiesta n. {number}",
               "«{subject}» è stata inoltrata al nostro servizio di assistenza. La terremo "
               "aggiornata qui."),
        "th": ("เราได้รับคำขอ #{number} ของคุณแล้ว",
               "“{subject}” ส่งถึงทีมบริการลูกค้าของเราแล้ว "
               "เราจะแจ้งความคืบหน้าให้คุณทราบที่นี่")}),
    "ticket_reply": T("support", {
        "en": ("New reply on your request #{number}",
               "{text}"),
        "de": ("Neue Antwort auf Ihre Anfrage #{number}",
               "{text}"),
        "it": ("Nuova risposta alla sua richiesta n. {number}",
               "{text}"),
        "th": ("มีการตอบกลับใหม่ในคำขอ #{number} ของคุณ",
               "{text}")}),
    "ticket_waiting": T("support", {
        "en": ("We need your answer on request #{number}",
               "Please reply to “{subject}” so we can go on."),
        "de": ("Wir brauchen Ihre Antwort zu Anfrage #{number}",
               "Bitte antworten Sie auf „{subject}“, damit wir weitermachen können."),
        "it": ("Attendiamo una sua risposta sulla richiesta n. {number}",
               "La preghiamo di rispondere a «{subject}» per permetterci di proseguire."),
        "th": ("เราต้องการคำตอบจากคุณในคำขอ #{number}",
               "กรุณาตอบกลับเรื่อง “{subject}” เพื่อให้เราดำเนินการต่อได้")}),
    "ticket_resolved": T("support", {
        "en": ("Your request #{number} is resolved",
               "“{subject}”: {resolution}{credit_text}"),
        "de": ("Ihre Anfrage #{number} ist gelöst",
               "„{subject}“: {resolution}{credit_text}"),
        "it": ("La sua richiesta n. {number} è stata risolta",
               "«{subject}»: {resolution}{credit_text}"),
        "th": ("คำขอ #{number} ของคุณได้รับการแก้ไขแล้ว",
               "“{subject}”: {resolution}{credit_text}")}),
}
CREDIT_TEXT = {
    "en": " As an apology we credit you {credit}.",
    "de": " Als Entschuldigung schreiben wir Ihnen {credit} gut.",
    "it": " Per scusarci del disagio le accreditiamo {credit}.",
    "th": " เพื่อเป็นการขออภัย เราได้มอบเงินชดเชย {credit} ให้คุณ",
}

DECLINES = {
    "en": {
        "card_declined": "the card was declined",
        "insufficient_funds": "insufficient funds",
        "expired_card": "the card has expired",
        "card_removed": "the card was removed",
    },
    "de": {
        "card_declined": "Karte abgelehnt",
        "insufficient_funds": "Deckung nicht ausreichend",
        "expired_card": "Karte abgelaufen",
        "card_removed": "Karte entfernt",
    },
    "it": {
        "card_declined": "carta rifiutata",
        "insufficient_funds": "fondi insufficienti",
        "expired_card": "carta scaduta",
        "card_removed": "carta rimossa",
    },
    "th": {
        "card_declined": "บัตรถูกปฏิเสธ",
        "insufficient_funds": "วงเงินไม่เพียงพอ",
        "expired_card": "บัตรหมดอายุ",
        "card_removed": "บัตรถูกนำออกแล้ว",
    },
}
NEXT_RETRY = {
    "en": "We will try again on {date}; you can also pay now with another card.",
    "de": "Wir versuchen es am {date} erneut; Sie können auch jetzt mit einer anderen Karte "
          "zahlen.",
    "it": "Riproveremo il {date}; può anche pagare subito con un'altra carta.",
    "th": "เราจะลองอีกครั้งในวันที่ {date} หรือคุณสามารถชำระด้วยบัตรอื่นได้ทันที",
}
NO_RETRY = {
    "en": "Please pay with another card.",
    "de": "Bitte zahlen Sie mit einer anderen Karte.",
    "it": "La preghiamo di pagare con un'altra carta.",
    "th": "กรุณาชำระด้วยบัตรอื่น",
}
NEXT_STEP_CHARGE = {
    "en": "We will charge your card again on {date}.",
    "de": "Wir belasten Ihre Karte erneut am {date}.",
    "it": "Addebiteremo di nuovo la sua carta il {date}.",
    "th": "เราจะเรียกเก็บเงินจากบัตรของคุณอีกครั้งในวันที่ {date}",
}
NEXT_STEP_PAY = {
    "en": "Please pay by {date}.",
    "de": "Bitte zahlen Sie bis {date}.",
    "it": "La preghiamo di pagare entro il {date}.",
    "th": "กรุณาชำระภายในวันที่ {date}",
}
LAST_STEP = {
    "en": " If it is not paid by then, your services will be suspended.",
    "de": " Ist sie bis dahin nicht bezahlt, werden Ihre Dienste gesperrt.",
    "it": " Se non sarà pagata entro tale data, i suoi servizi saranno sospesi.",
    "th": " หากยังไม่ได้ชำระภายในวันดังกล่าว บริการของคุณจะถูกระงับ",
}
SUSPENSION_REASONS = {
    "en": {
        "unpaid_invoice": "a bill is unpaid",
        "insufficient_balance": "the wallet balance is too low",
    },
    "de": {
        "unpaid_invoice": "eine Rechnung ist offen",
        "insufficient_balance": "das Guthaben reicht nicht",
    },
    "it": {
        "unpaid_invoice": "una fattura non è stata pagata",
        "insufficient_balance": "il credito non è sufficiente",
    },
    "th": {
        "unpaid_invoice": "มีใบแจ้งค่าบริการที่ยังไม่ได้ชำระ",
        "insufficient_balance": "ยอดเงินในกระเป๋าเงินไม่เพียงพอ",
    },
}


# what a wallet debit paid for, by its ledger type (other debits are not announced)
DEBITS = {
    "en": {"service_charge": "your services", "adjustment": "an adjustment by our staff"},
    "de": {"service_charge": "Ihre Dienste", "adjustment": "eine Korrektur durch unser Team"},
    "it": {"service_charge": "i suoi servizi", "adjustment": "una rettifica del nostro staff"},
    "th": {"service_charge": "บริการของคุณ", "adjustment": "การปรับยอดโดยเจ้าหน้าที่"},
}


# a budget alert's title, by the threshold it reached (insights' budget_alert)
BUDGET_HEADLINES = {
    "en": {"80": "You have used 80 % of your monthly budget",
           "100": "You have reached your monthly budget",
           "projected": "Your bills may exceed your budget this month"},
    "de": {"80": "Sie haben 80 % Ihres Monatsbudgets erreicht",
           "100": "Ihr Monatsbudget ist ausgeschöpft",
           "projected": "Ihre Rechnungen könnten diesen Monat Ihr Budget übersteigen"},
    "it": {"80": "Ha utilizzato l'80 % del suo budget mensile",
           "100": "Ha raggiunto il suo budget mensile",
           "projected": "Questo mese le sue spese potrebbero superare il budget"},
    "th": {"80": "คุณใช้งบประมาณรายเดือนไปแล้ว 80 %",
           "100": "คุณใช้งบประมาณรายเดือนครบแล้ว",
           "projected": "ค่าใช้จ่ายเดือนนี้อาจเกินงบประมาณของคุณ"},
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
    if event_type in EMAIL_ONLY or event_type == "data_export_ready":  # until when they work
        expires = e.get("expires_at") or ""
        ctx["expires"] = (format_datetime(dt.datetime.fromisoformat(expires), "medium",
                                          tzinfo="UTC", locale=lang) + " UTC") if expires else ""
    if event_type == "wallet_debited":
        what = DEBITS[lang].get(e.get("type") or "")
        if what is None or e.get("direction") != "debit":
            return None  # e.g. a voided voucher's debit: told by its own notice
        ctx["what"] = what
    if event_type == "budget_alert":
        headline = BUDGET_HEADLINES[lang].get(e.get("threshold") or "")
        if headline is None:
            return None
        currency = e.get("currency") or ""
        ctx.update({"headline": headline, **{
            name: money({"amount": int(e.get(name) or 0), "currency": currency}, lang)
            for name in ("budget", "so_far", "projected")}})
        month = format_date(dt.date.fromisoformat(f"{e['month']}-01"), "LLLL y", locale=lang)
        ctx["month"] = month[:1].upper() + month[1:]  # it: "dicembre" opens the sentence
    if event_type == "account_deletion_scheduled":
        ctx["due"] = day(e.get("due_at"), lang)
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
