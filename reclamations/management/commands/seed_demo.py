"""``manage.py seed_demo [--password PW]``: a demonstration installation for SECURICONSULT.

Creates the staff roles, two staff accounts, the organisation's configuration and about thirty
records at every step of the procedure, with an improvement plan and monthly digests (indicator 32).

What happened lives in a data file, ``reclamations/demo/records.json``: for each case, what the
client wrote and a timeline of what was done, when and by whom. The command replays it through the
real services with the clock moved to each moment (time-machine), every entry of every case in one
chronological order, so that each event of the journal is dated when the fact it records happened
(an acknowledgement sent "le 19/01" is logged on 19/01) and the chain runs forward in time. E-mails go
through the real outbox at their moment, so an acknowledgement counts from its sending, as in use.

Idempotent: when records already exist, only the roles, accounts and configuration are ensured.
time-machine is a development dependency (``requirements-dev.txt``, which ``make run`` installs): it is
imported only when records are to be written, never when this module is imported.
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from reclamations import emails, outbox, roles, services, workflow
from reclamations.models import (
    Action,
    Channel,
    Communication,
    CommunicationKind,
    ImprovementAction,
    OpeningHours,
    Organisation,
    Reclamation,
    RootCauseCategory,
    Service,
)
from reclamations.services.digest import previous_month
from reclamations.services.messages import prefilled_message
from reclamations.services.survey import current_token
from reclamations.uploads import check_uploads
from reclamations.workflow import OPEN_STEPS

DATA_FILE = Path(__file__).resolve().parents[2] / "demo" / "records.json"
# Who the journal names for the demo configuration (no person entered it).
DEMO_LABEL = "Données de démonstration"
ACK = Communication.Purpose.ACKNOWLEDGEMENT

# What the client gave when filing, by channel; the rest is collected at step 2 (identification).
# On the phone and at the desk, the handler takes an e-mail address for the written acknowledgement.
INITIAL_CONTACT = {
    Channel.WEB_FORM: ("name", "email", "phone", "role", "organisation"),
    Channel.EMAIL: ("name", "email"),
    Channel.SURVEY: ("name", "email"),
    Channel.PHONE: ("name", "phone", "email"),
    Channel.LETTER: ("name", "address"),
    Channel.IN_PERSON: ("name", "phone", "email"),
    Channel.OTHER: ("name", "email"),
}
# Small files that pass the upload checks (by content): a PDF and a PNG.
FILE_CONTENT = {
    "pdf": ("application/pdf", b"%PDF-1.4\n% demo\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"),
    "png": ("image/png", bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8cf"
        "c0000003010100c9fe92ef0000000049454e44ae426082")),
}
_RELATIVE = re.compile(r"^\+(?:(\d+)h)?(?:(\d+)min)?$")
_DAY = re.compile(r"^J\+(\d+)(?: (\d\d):(\d\d))?$")
_DAYS_AGO = re.compile(r"^D-(\d+)(?: (\d\d):(\d\d))?$")


def time_machine_module() -> Any:
    """time-machine, imported only when records are written: production never installs it."""
    try:
        import time_machine
    except ImportError:
        raise CommandError("Les données de démonstration ont besoin de time-machine, une dépendance de "
                           "développement : pip install -r requirements-dev.txt (make run le fait).") from None
    return time_machine


def load_data(path: Path = DATA_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


# --- Time ----------------------------------------------------------------------------------------
def _local(day: date, hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def reception_moment(received: dict[str, Any], now: datetime) -> datetime:
    """``{"days_ago": 12, "at": "09:40"}`` or ``{"hours_ago": 3}``, from the seeding moment."""
    if "hours_ago" in received:
        return (now - timedelta(hours=received["hours_ago"])).replace(second=0, microsecond=0)
    hour, minute = (int(part) for part in received["at"].split(":"))
    return _local(timezone.localdate(now) - timedelta(days=received["days_ago"]), hour, minute)


def moment(text: str, received_at: datetime | None, now: datetime) -> datetime:
    """"J+3 14:05" (local time, 3 days after the reception's date), "+1h20min" (after the reception)
    or "D-40 10:00" (40 days before the seeding day)."""
    if (match := _DAY.match(text)) and received_at is not None:
        day = timezone.localdate(received_at) + timedelta(days=int(match[1]))
        return _local(day, int(match[2] or 9), int(match[3] or 0))
    if (match := _RELATIVE.match(text)) and received_at is not None and (match[1] or match[2]):
        return received_at + timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    if match := _DAYS_AGO.match(text):
        day = timezone.localdate(now) - timedelta(days=int(match[1]))
        return _local(day, int(match[2] or 9), int(match[3] or 0))
    raise CommandError(f"Date de démonstration illisible : « {text} ».")


def intake_of(data: dict[str, Any]) -> str:
    """How a case came in: the Contact form, the complaints mailbox, or registered by staff."""
    if data.get("intake"):
        return data["intake"]
    if data["channel"] == Channel.WEB_FORM:
        return "contact"
    return "mailbox" if data["channel"] == Channel.EMAIL and data["kind"] == "complaint" else "staff"


def day_of(text: str, received_at: datetime | None, now: datetime) -> date:
    return timezone.localdate(moment(text, received_at, now))


# --- The replay ------------------------------------------------------------------------------------
@dataclass
class Case:
    data: dict[str, Any]
    received_at: datetime
    record: Reclamation | None = None
    actions: list[Action] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.data["key"]


@dataclass(frozen=True)
class Entry:
    at: datetime
    order: int  # the data file's order, for entries of the same minute
    run: Callable[[], None]
    where: str  # for error messages: which case, which entry


class DemoReplay:
    """Replays the data file through the services, every entry at its own moment."""

    def __init__(self, *, data: dict[str, Any], users: dict[str, AbstractUser], now: datetime) -> None:
        self.data = data
        self.users = users
        self.now = now
        self.services = {s.name: s for s in Service.objects.all()}
        self.root_causes = {c.name: c for c in RootCauseCategory.objects.all()}
        self.cases: dict[str, Case] = {}
        self.improvements: dict[str, ImprovementAction] = {}
        self.digests: dict[str, Any] = {}

    # -- schedule ---------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        found: list[Entry] = []
        order = 0
        for data in self.data["cases"]:
            case = Case(data=data, received_at=reception_moment(data["received"], self.now))
            self.cases[case.key] = case
            # A Contact submission, a call or a visit is registered as it happens; an e-mail is
            # imported, a letter registered, a minute later.
            at_once = intake_of(data) == "contact" or data["channel"] in (Channel.PHONE, Channel.IN_PERSON)
            registered = case.received_at + (timedelta(0) if at_once else timedelta(minutes=1))
            found.append(Entry(registered, order, self._intake(case), f"{case.key} (réception)"))
            order += 1
            for index, item in enumerate(data.get("timeline", ())):
                at = moment(item["at"], case.received_at, self.now)
                found.append(Entry(at, order, self._step(case, item), f"{case.key}, entrée {index + 1}"))
                order += 1
        for index, item in enumerate(self.data.get("quality", ())):
            found.append(Entry(moment(item["at"], None, self.now), order, self._quality(item),
                               f"amélioration continue, entrée {index + 1}"))
            order += 1
        found.sort(key=lambda entry: (entry.at, entry.order))
        return found

    def run(self) -> None:
        time_machine = time_machine_module()
        for entry in self.entries():
            if entry.at > self.now:
                raise CommandError(
                    f"Donnée de démonstration dans le futur : {entry.where} ({entry.at:%d/%m/%Y %H:%M}).")
            with time_machine.travel(entry.at, tick=False):
                try:
                    entry.run()
                except services.WorkflowError as error:
                    raise CommandError(f"Démonstration, {entry.where} : {error}") from error
                self._deliver()

    def _deliver(self) -> None:
        """What the worker does at once: staff notices, then the outbox, then the acknowledgements
        it sent. Run at the same moment, so an e-mail leaves when it was written."""
        services.reclamation_announce_submissions()
        if outbox.due(timezone.now()).exists():
            outbox.send_due()
            services.reclamation_sync_sent_emails()

    # -- helpers ----------------------------------------------------------------------------------
    def _user(self, item: dict[str, Any]) -> AbstractUser | None:
        name = item.get("by")
        return self.users[name] if name else None

    def _record(self, case: Case) -> Reclamation:
        assert case.record is not None
        case.record = Reclamation.objects.get(pk=case.record.pk)
        return case.record

    def _uploads(self, files: list[dict[str, str]]) -> list[Any]:
        uploads = []
        for spec in files:
            content_type, content = FILE_CONTENT[spec.get("type", "pdf")]
            uploads.append(SimpleUploadedFile(spec["name"], content, content_type=content_type))
        return check_uploads(uploads)

    # -- reception --------------------------------------------------------------------------------
    def _intake(self, case: Case) -> Callable[[], None]:
        def run() -> None:
            data = case.data
            person = data.get("complainant", {})
            channel = data["channel"]
            fields: dict[str, Any] = {"wished_solution": data.get("wished", "")}
            if data.get("stakeholder"):
                fields["stakeholder_type"] = data["stakeholder"]
            for part in INITIAL_CONTACT[channel]:
                if person.get(part):
                    fields[f"complainant_{part}"] = person[part]
            uploads = self._uploads(data.get("files", []))
            intake = intake_of(data)
            if intake == "contact":
                # The Contact form: submitted at the reception moment, acknowledged by e-mail.
                email = fields.pop("complainant_email")
                created = services.reclamation_submit_contact(
                    kind=data["kind"], subject=data["subject"], description=data["description"],
                    complainant_email=email, consent=True, uploads=uploads,
                    service=self.services.get(data["service"]), training_action=data.get("training_action", ""),
                    **fields,
                )
            elif intake == "mailbox":
                # An e-mail to the complaints address, imported by the mailbox poll a minute later.
                created = services.reclamation_submit_email(
                    subject=data["subject"], description=data["description"],
                    complainant_email=person["email"], complainant_name=person.get("name", ""),
                    received_at=case.received_at, uploads=uploads,
                )
            else:
                handler = self.users[data["handler"]]
                created = services.reclamation_create(
                    actor=handler, kind=data["kind"], channel=channel, subject=data["subject"],
                    description=data["description"], received_at=case.received_at, **fields,
                )
                if uploads:
                    services.reclamation_add_attachments(reclamation=created.reclamation, actor=handler,
                                                         uploads=uploads)
                if channel == Channel.PHONE:
                    services.reclamation_log_communication(
                        reclamation=created.reclamation, actor=handler, kind=CommunicationKind.CALL,
                        direction=Communication.Direction.INBOUND, occurred_at=case.received_at,
                        duration_minutes=data.get("call_minutes", 10), body=f"Appel reçu : {data['description']}",
                    )
            case.record = created.reclamation
        return run

    # -- the timeline -----------------------------------------------------------------------------
    def _step(self, case: Case, item: dict[str, Any]) -> Callable[[], None]:
        operation = getattr(self, f"_do_{item['do']}", None)
        if operation is None:
            raise CommandError(f"Opération de démonstration inconnue : « {item['do']} » ({case.key}).")

        def run() -> None:
            operation(case, item, self._user(item))
        return run

    def _do_acknowledge(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        r = self._record(case)
        subject, body = prefilled_message(r, ACK)
        if r.complainant_email:
            # Sent now; the outbox run right after records the acknowledgement at its sending.
            services.reclamation_send_message(reclamation=r, actor=actor, purpose=ACK, subject=subject, body=body)
            return
        services.reclamation_log_communication(
            reclamation=r, actor=actor, kind=CommunicationKind.LETTER, direction=Communication.Direction.OUTBOUND,
            purpose=ACK, public=True, subject=subject, body=body,
        )
        services.reclamation_record_acknowledgement(reclamation=r, actor=actor, means="courrier")

    def _do_complete_step(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        r = self._record(case)
        current = workflow.step_number(r.state)
        if current > item["step"] and workflow.step_spec(OPEN_STEPS[item["step"] - 1]).automatic:
            return  # it completed by itself (its requirement was met), as it does in use
        if current != item["step"]:
            raise CommandError(f"Démonstration, {case.key} : étape {item['step']} attendue, la réclamation est à "
                               f"l'étape {workflow.step_number(r.state)}.")
        services.reclamation_complete_step(reclamation=r, actor=actor, expected_state=r.state)

    def _do_not_applicable(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_mark_not_applicable(reclamation=self._record(case), actor=actor,
                                                 step=OPEN_STEPS[item["step"] - 1], reason=item["reason"])

    def _do_assign(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_assign(reclamation=self._record(case), actor=actor, handler=actor)

    def _do_identify(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        r = self._record(case)
        if r.handler_id != actor.pk:
            services.reclamation_assign(reclamation=r, actor=actor, handler=actor)
        data = case.data
        changes: dict[str, Any] = {
            f"complainant_{part}": value for part, value in data.get("complainant", {}).items()
            if value and getattr(r, f"complainant_{part}") != value
        }
        if r.service is None or r.service.name != data["service"]:
            changes["service"] = self.services[data["service"]]
        if data.get("training_action") and r.training_action != data["training_action"]:
            changes["training_action"] = data["training_action"]
        if data.get("stakeholder") and r.stakeholder_type != data["stakeholder"]:
            changes["stakeholder_type"] = data["stakeholder"]
        if changes:
            services.reclamation_update(reclamation=self._record(case), actor=actor, changes=changes,
                                        expected_state=workflow.Step.IDENTIFICATION)

    def _do_reformulate(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_update(reclamation=self._record(case), actor=actor,
                                    changes={"reformulation": item["text"]})

    def _do_call(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_log_communication(
            reclamation=self._record(case), actor=actor, kind=CommunicationKind.CALL,
            direction=item.get("direction", Communication.Direction.OUTBOUND), public=True,
            purpose=item.get("purpose", Communication.Purpose.INFORMATION_REQUEST),
            duration_minutes=item["minutes"], subject=item.get("subject", ""), body=item["body"],
        )

    def _do_note(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_log_communication(
            reclamation=self._record(case), actor=actor, kind=CommunicationKind.NOTE,
            direction=Communication.Direction.INTERNAL, subject=item.get("subject", ""), body=item["body"],
        )

    def _do_attach(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_add_attachments(reclamation=self._record(case), actor=actor,
                                             uploads=self._uploads(item["files"]))

    def _do_evaluate(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_update(
            reclamation=self._record(case), actor=actor,
            changes={name: item[name] for name in ("severity", "complexity", "repercussions")},
        )

    def _do_add_action(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        owner = self.users[item["owner"]] if item.get("owner") else None
        due = day_of(item["due"], case.received_at, self.now) if item.get("due") else None
        case.actions.append(services.reclamation_add_action(
            reclamation=self._record(case), actor=actor, description=item["description"], kind=item["kind"],
            owner=owner, due_date=due,
        ))

    def _action(self, case: Case, item: dict[str, Any]) -> Action:
        return Action.objects.get(pk=case.actions[item["action"] - 1].pk)

    def _do_schedule(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_update_action(
            action=self._action(case, item), actor=actor,
            changes={"owner": self.users[item["owner"]], "due_date": day_of(item["due"], case.received_at, self.now)},
        )

    def _do_action_in_progress(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_update_action(action=self._action(case, item), actor=actor,
                                           changes={"status": "in_progress"})

    def _do_action_done(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_update_action(
            action=self._action(case, item), actor=actor,
            changes={"status": "done", "done_at": timezone.localdate(), "result": item["result"]},
        )

    def _do_promote(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        improvement, _ = services.reclamation_promote_action(action=self._action(case, item), actor=actor)
        self.improvements[item["id"]] = improvement

    def _do_draft_answer(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        changes: dict[str, Any] = {"decision": item["decision"], "answer": item["answer"]}
        if compensation := item.get("compensation"):
            changes.update(compensation_type=compensation["type"], compensation_description=compensation["description"],
                           compensation_amount=Decimal(compensation["amount"]) if compensation.get("amount") else None)
        services.reclamation_update(reclamation=self._record(case), actor=actor, changes=changes)

    def _do_write_report(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        """An aléa with nobody to answer: the outcome is written down, nothing is sent."""
        services.reclamation_update(reclamation=self._record(case), actor=actor, changes={"answer": item["text"]})

    def _do_send_answer(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_send_answer(reclamation=self._record(case), actor=actor,
                                         expected_state=workflow.Step.ACTION)

    def _do_progress(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        r = self._record(case)
        subject = prefilled_message(r, Communication.Purpose.PROGRESS)[0]
        services.reclamation_send_message(reclamation=r, actor=actor, purpose=Communication.Purpose.PROGRESS,
                                          subject=subject, body=item["body"])

    def _do_client_message(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_add_client_message(reclamation=self._record(case), body=item["body"])

    def _do_client_email(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        """An e-mail the client sent to a staff member's own address, filed on the record by them."""
        services.reclamation_log_communication(
            reclamation=self._record(case), actor=actor, kind=CommunicationKind.EMAIL,
            direction=Communication.Direction.INBOUND, public=True, subject=item.get("subject", ""), body=item["body"],
        )

    def _do_conclude(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        changes: dict[str, Any] = {"conclusion": item["conclusion"]}
        if item.get("root_cause"):
            changes.update(root_cause_category=self.root_causes[item["root_cause"]],
                           root_cause_analysis=item["analysis"])
        if item.get("offer"):
            changes["complementary_offer"] = item["offer"]
        services.reclamation_update(reclamation=self._record(case), actor=actor, changes=changes)

    def _do_survey_answer(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        """The client answers every question of the survey page, from the link of the e-mail."""
        token = current_token(self._record(case))
        if token is None:
            raise CommandError(f"Démonstration, {case.key} : aucune enquête ouverte.")
        services.reclamation_answer_survey(token=token, answer=services.SurveyAnswer(
            satisfaction=item["satisfaction"], solved=item["solved"], answer_clear=item["answer_clear"],
            delay_acceptable=item["delay_acceptable"], comment=item.get("comment", ""),
        ))

    def _do_feedback_by_phone(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_record_feedback(reclamation=self._record(case), actor=actor,
                                             satisfaction=item["satisfaction"], comment=item.get("comment", ""))

    def _do_survey_expire(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.survey_expire()  # the periodic sweep, at the moment the survey ran out

    def _do_discard(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        reason = item.get("reason", "")
        if item.get("duplicate_of"):
            original = self.cases[item["duplicate_of"]].record
            reason = f"Doublon de {original.reference} (même demande reçue par le formulaire Contact)."
        services.reclamation_discard(reclamation=self._record(case), actor=actor, reason=reason)

    def _do_reopen(self, case: Case, item: dict[str, Any], actor: AbstractUser | None) -> None:
        services.reclamation_reopen(reclamation=self._record(case), actor=actor, reason=item["reason"],
                                    step=OPEN_STEPS[item["step"] - 1])

    # -- indicator 32: the improvement plan and the monthly digest --------------------------------
    def _quality(self, item: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            actor = self._user(item)
            what = item["do"]
            if what == "improvement_create":
                self.improvements[item["id"]] = services.improvement_create(
                    actor=actor, origin=item["origin"], title=item["title"], description=item["description"],
                    owner=self.users[item["owner"]], due_date=day_of(item["due"], None, self.now),
                    reclamations=[self._record(self.cases[key]) for key in item.get("records", ())],
                )
            elif what == "improvement_update":
                changes = dict(item["changes"])
                if changes.get("status") == "done":
                    changes["done_at"] = timezone.localdate()
                if "check_planned_on" in changes:
                    changes["check_planned_on"] = day_of(changes["check_planned_on"], None, self.now)
                self.improvements[item["id"]] = services.improvement_update(
                    improvement=self.improvements[item["id"]], actor=actor, changes=changes)
            elif what == "improvement_check":
                self.improvements[item["id"]] = services.improvement_record_check(
                    improvement=self.improvements[item["id"]], actor=actor, result=item["result"],
                    comment=item.get("comment", ""))
            elif what == "digest_send":
                self.digests[item["id"]] = services.digest_send(period=previous_month(), actor=actor).digest
            elif what == "digest_read":
                receipt = self.digests[item["id"]].receipts.get(user=actor)
                services.digest_acknowledge(receipt=receipt, user=actor)
            else:
                raise CommandError(f"Opération de démonstration inconnue : « {what} ».")
        return run


# --- The command ---------------------------------------------------------------------------------------
class Command(BaseCommand):
    help = "Crée une installation de démonstration (SECURICONSULT) : rôles, comptes, configuration, réclamations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="Mot de passe des comptes de démonstration (par défaut : généré aléatoirement à la création ; "
                 "les comptes existants ne changent de mot de passe que si cette option est donnée).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str | None = options.get("password")
        data = load_data()
        now = timezone.now().replace(microsecond=0)
        # One "send the outbox" message for the whole seeding, not one per e-mail.
        with emails.deferred_dispatch(), transaction.atomic():
            handlers, quality_leads = roles.ensure_groups()
            users, password_notes = self._ensure_users(data["staff"], password,
                                                       {roles.HANDLERS: handlers, roles.QUALITY_LEADS: quality_leads})
            seeding = not Reclamation.objects.exists()
            quality_lead = next(users[s["username"]] for s in data["staff"] if s["group"] == roles.QUALITY_LEADS)
            if seeding:
                # The configuration was in place before the first case: its event is dated then.
                first = min(reception_moment(case["received"], now) for case in data["cases"])
                self._configure(data, quality_lead, first - timedelta(days=7))
                DemoReplay(data=data, users=users, now=now).run()
            else:
                self._configure(data, quality_lead, None)
                self.stdout.write("Des réclamations existent déjà : aucune donnée de démonstration ajoutée.")
        self._print_summary(data["staff"], password_notes)

    def _configure(self, data: dict[str, Any], quality_lead: AbstractUser, at: datetime | None) -> None:
        def run() -> None:
            self._ensure_configuration(data, quality_lead)
        if at is None:
            run()
            return
        with time_machine_module().travel(at, tick=False):
            run()

    # -- accounts --------------------------------------------------------------------------------------
    def _ensure_users(
        self, staff: list[dict[str, str]], password: str | None, groups: dict[str, Group]
    ) -> tuple[dict[str, AbstractUser], dict[str, str]]:
        user_model = get_user_model()
        generated = password or secrets.token_urlsafe(12)
        users: dict[str, AbstractUser] = {}
        notes: dict[str, str] = {}
        for person in staff:
            username = person["username"]
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username, first_name=person["first_name"], last_name=person["last_name"],
                                  is_staff=True, email=person["email"])
                user.set_password(generated)
                user.save()
                notes[username] = generated
            elif password:
                user.set_password(password)
                user.save(update_fields=["password"])
                notes[username] = password
            else:
                notes[username] = "(inchangé — relancez avec --password pour le redéfinir)"
            user.groups.add(groups[person["group"]])
            users[username] = user
        return users, notes

    # -- configuration -----------------------------------------------------------------------------------
    def _ensure_configuration(self, data: dict[str, Any], quality_lead: AbstractUser) -> None:
        """Fill what is still empty or at its default; never overwrite what the quality lead entered.

        Through the configuration service, like the admin: each row created or filled is logged with
        its values, so the pack's configuration section and the journal's check have their source."""
        def save(instance: Any) -> None:
            services.configuration_save(instance=instance, actor=None, label=DEMO_LABEL)

        organisation = Organisation.current()
        dirty = False
        for name, value in data["organisation"].items():
            current = getattr(organisation, name)
            if current in ("", None, Organisation._meta.get_field(name).get_default()) and current != value:
                setattr(organisation, name, value)
                dirty = True
        if not organisation.responsible_user_id:
            organisation.responsible_user = quality_lead
            dirty = True
        if not organisation.responsible_name:
            organisation.responsible_name = quality_lead.get_full_name()
            dirty = True
        if dirty:
            save(organisation)
        if not OpeningHours.objects.exists():
            for weekday in range(5):
                for opens, closes in data["opening_periods"]:
                    save(OpeningHours(weekday=weekday, opens_at=time.fromisoformat(opens),
                                      closes_at=time.fromisoformat(closes)))
        for position, name in enumerate(data["services"], start=1):
            if not Service.objects.filter(name=name).exists():
                save(Service(name=name, position=position))
        for name in data["root_causes"]:
            if not RootCauseCategory.objects.filter(name=name).exists():
                save(RootCauseCategory(name=name))

    # -- summary ----------------------------------------------------------------------------------------
    def _print_summary(self, staff: list[dict[str, str]], password_notes: dict[str, str]) -> None:
        counts = {state: Reclamation.objects.filter(state=state).count() for state, _ in workflow.state_choices()}
        self.stdout.write(f"Réclamations : {sum(counts.values())}")
        for state, label in workflow.state_choices():
            number = f"{OPEN_STEPS.index(state) + 1}. " if state in OPEN_STEPS else "   "
            self.stdout.write(f"  {number}{label:<28} {counts[state]:>3}")
        self.stdout.write("Comptes (connexion sur /backoffice/ et /admin/) :")
        for person in staff:
            self.stdout.write(f"  {person['username']:<13} {person['first_name']} {person['last_name']} "
                              f"({person['group']}) — mot de passe : {password_notes[person['username']]}")
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))

