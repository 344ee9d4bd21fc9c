"""Turning an outbox row into an email and handing it to an SMTP server."""
import io
import re
import smtplib
import ssl
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr


# Headers on one line up to RFC 5322's hard limit of 998 characters. At the default 78,
# Python folds a long Subject before its first word ("Subject:\r\n New time..."), and
# some mail readers then show the subject with a leading space.
HEADERS_UNFOLDED = SMTP.clone(max_line_length=998)


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

    def send(self, email: EmailMessage, before_end_of_data=None) -> None:
        """Send one message. `before_end_of_data()` runs after the whole message has
        been transmitted but before the final "." that makes the server accept it:
        up to that point a crash leaves nothing at the server, so the message can be
        sent again safely (see core.services.outbox.deliver)."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            smtp.ehlo_or_helo_if_needed()
            sender = email_address(email["From"])
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = smtp.rcpt(email["To"])
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({email["To"]: (code, reply)})
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            smtp.send(_dot_stuffed(email))
            if before_end_of_data is not None:
                before_end_of_data()
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPResponseException:
            try:
                smtp.rset()  # ready for the next message on this connection
            except (smtplib.SMTPException, OSError):
                self._smtp = None
            raise
        except (smtplib.SMTPServerDisconnected, OSError):
            # Drop a broken connection so the next message opens a fresh one.
            self._smtp = None
            raise


def email_address(header: str) -> str:
    return parseaddr(header)[1]


def _dot_stuffed(email: EmailMessage) -> bytes:
    """The message as SMTP DATA (CRLF line ends, leading dots doubled), ending in CRLF,
    without the final "." line."""
    out = io.BytesIO()
    BytesGenerator(out, policy=HEADERS_UNFOLDED).flatten(email)
    data = re.sub(rb"(?m)^\.", b"..", out.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"
