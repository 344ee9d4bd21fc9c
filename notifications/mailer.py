"""Turning an outbox row into an email and handing it to an SMTP server."""
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime


def build_email(message, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    if message.ics:
        method = message.ics_method or "REQUEST"
        email.add_attachment(
            message.ics.encode("utf-8"), maintype="text", subtype="calendar",
            filename="invite.ics" if method != "CANCEL" else "cancel.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return email


class SMTPConnection:
    """One connection for a delivery batch, opened on first use."""

    def __init__(self, config):
        self.config = config
        self._smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                pass
            except OSError:
                pass
        self._smtp = None

    def _connect(self):
        c = self.config
        if c["SMTP_PORT"] == 465:
            smtp = smtplib.SMTP_SSL(c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"],
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"])
            if c["SMTP_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
        if c["SMTP_USERNAME"]:
            smtp.login(c["SMTP_USERNAME"], c["SMTP_PASSWORD"])
        return smtp

    def send(self, email: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(email)
        except (smtplib.SMTPServerDisconnected, OSError):
            # Drop a broken connection so the next message opens a fresh one.
            self._smtp = None
            raise
