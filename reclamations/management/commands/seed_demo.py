"""``manage.py seed_demo [--password PW]``: a demonstration installation for SECURICONSULT.

Creates the staff roles, two staff accounts, the organisation's configuration and about thirty
records at every step of the procedure. Records are written only through ``reclamations.services``,
so each one carries the history of events the real code writes. Idempotent: when records already
exist, only the roles, accounts and configuration are ensured.

Events are dated when the command runs (the journal takes the current time); reception dates,
acknowledgements, calls and action dates are placed in the past.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from reclamations import emails, roles, services, workflow
from reclamations.journal import CLIENT_LABEL, record_event
from reclamations.models import (
    Action,
    ActionKind,
    ActionStatus,
    Channel,
    Communication,
    CommunicationKind,
    Compensation,
    Decision,
    EventKind,
    Kind,
    OpeningHours,
    Organisation,
    Reclamation,
    RootCauseCategory,
    Service,
    StakeholderType,
)
from reclamations.workflow import OPEN_STEPS, WRITTEN_CHANNELS, Step

WEB_FORM_LABEL = "Client (formulaire Contact)"

# --- Configuration ---------------------------------------------------------------------------------
ORGANISATION = {
    "name": "SECURICONSULT",
    "address": "85 rue de la Bimoise\n62650 Clenleu",
    "siret": "814 072 849 00031",
    "activity_number": "32 59 10474 59",
    "contact_email": "admin@securiconsult.fr",
    "phone": "06 76 16 35 60",
    "website": "https://www.securiconsult.fr",
    # A placeholder mediator, for the demo only: the organisation enters its own in the admin.
    "mediator_name": "Médiateur de la consommation (exemple de démonstration)",
    "mediator_address": "1 rue de l'Exemple\n75000 Paris",
    "mediator_website": "https://mediateur.example.org",
}
OPENING_PERIODS = ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 30)))
SERVICES = (
    "Formation inter-entreprises",
    "Formation intra-entreprise",
    "Accompagnement VAE",
    "Conseil et audit",
    "Administration et facturation",
)
ROOT_CAUSES = (
    "Organisation / logistique",
    "Contenu pédagogique",
    "Intervenant",
    "Communication",
    "Administratif / facturation",
    "Outils et supports numériques",
)
HANDLER_USERNAME = "gestionnaire"
QUALITY_LEAD_USERNAME = "qualite"
STAFF = (
    # username, first name, last name, group
    (HANDLER_USERNAME, "Camille", "Martin", roles.HANDLERS),
    (QUALITY_LEAD_USERNAME, "Dominique", "Bernard", roles.QUALITY_LEADS),
)

INTER = "Formation inter-entreprises"
INTRA = "Formation intra-entreprise"
VAE = "Accompagnement VAE"
CONSEIL = "Conseil et audit"
ADMIN = "Administration et facturation"

LOGISTICS = "Organisation / logistique"
PEDAGOGY = "Contenu pédagogique"
TRAINER = "Intervenant"
COMMUNICATION = "Communication"
BILLING = "Administratif / facturation"
DIGITAL = "Outils et supports numériques"

REOPENED = "reopened"


# --- The demonstration records ---------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One demonstration record: what the client said and how the handler treats it."""

    key: str
    target: str  # the state the record is left in (an open step, closed, discarded or "reopened")
    days_ago: int
    kind: str
    channel: str
    stakeholder: str
    service: str
    subject: str
    description: str
    complainant: dict[str, str] = field(default_factory=dict)
    training_action: str = ""
    wished: str = ""
    reformulation: str = ""
    immediate: str = ""
    plan: tuple[tuple[str, str], ...] = ()  # (corrective|preventive, description)
    evaluation: tuple[int, int, int] = (2, 1, 2)  # severity, complexity, repercussions
    decision: str = Decision.FAVOURABLE
    answer: str = ""
    compensation: tuple[str, str, str | None] | None = None  # type, description, amount
    progress: str = ""
    conclusion: str = ""
    root_cause: tuple[str, str] = ("", "")
    offer: str = ""
    satisfaction: int | None = None  # None: no answer to the survey
    feedback_comment: str = ""
    not_applicable: dict[str, str] = field(default_factory=dict)
    handler: str = HANDLER_USERNAME
    ack_hours: float | None = None
    partial: bool = True  # do part of the step the record is stopped in
    discard: str = ""
    duplicate_of: str = ""
    reopen: str = ""
    reopen_action: str = ""


def _person(name: str, role: str = "", organisation: str = "", phone: str = "", address: str = "") -> dict[str, str]:
    first, _, last = name.partition(" ")
    email = f"{_ascii(first)}.{_ascii(last)}@example.org".lower()
    return {"name": name, "role": role, "organisation": organisation, "phone": phone, "email": email,
            "address": address}


def _ascii(text: str) -> str:
    table = str.maketrans("éèêëàâäîïôöùûüç -'", "eeeeaaaiioouuuc---")
    return text.lower().translate(table)


SCENARIOS: tuple[Scenario, ...] = (
    # --- Closed -----------------------------------------------------------------------------------
    Scenario(
        key="salle-froide", target=Step.CLOSED, days_ago=322, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Sophie Lefebvre", "Assistante de direction", "Boulangerie Lefebvre",
                            "06 39 98 12 40", "4 rue du Moulin\n62170 Montreuil-sur-Mer"),
        training_action="SST initial — session des 14 et 15 janvier, Montreuil-sur-Mer",
        subject="Salle de formation non chauffée",
        description="Bonjour, j'ai suivi la formation SST la semaine dernière. La salle n'était pas chauffée "
                    "le premier jour, nous avons gardé nos manteaux toute la matinée et plusieurs stagiaires "
                    "sont partis plus tôt. Ce n'est pas acceptable pour une formation payante.",
        wished="Des excuses et l'assurance que cela ne se reproduira pas.",
        reformulation="La stagiaire signale une salle non chauffée le 14 janvier au matin (environ 14 °C), "
                      "ce qui a gêné l'attention et conduit des départs anticipés. Elle ne conteste pas le "
                      "contenu de la formation.",
        immediate="Appeler le loueur de la salle pour connaître la cause de la panne de chauffage.",
        plan=((ActionKind.CORRECTIVE, "Ajouter au contrat de location une clause de température minimale "
                                      "(19 °C) et une visite de la salle la veille de chaque session."),
              (ActionKind.PREVENTIVE, "Ajouter « chauffage / température » à la check-list logistique "
                                      "remplie par le formateur à l'ouverture de la salle.")),
        evaluation=(2, 1, 2), decision=Decision.PARTIAL,
        answer="Madame, nous vous présentons nos excuses pour les conditions d'accueil du 14 janvier. La "
               "chaudière de la salle louée était en panne ; le loueur ne nous avait pas prévenus. Nous avons "
               "modifié notre contrat et notre check-list pour qu'une telle situation soit détectée la veille. "
               "La formation ayant été intégralement dispensée et validée, nous ne pouvons pas en rembourser le "
               "prix, mais nous restons à votre disposition.",
        compensation=(Compensation.APOLOGY, "Excuses écrites adressées à la stagiaire.", None),
        progress="La clause de température minimale a été ajoutée au contrat de location ; la check-list du "
                 "formateur est en cours de mise à jour.",
        conclusion="Panne de chauffage non signalée par le loueur. Actions corrective et préventive réalisées ; "
                   "aucune nouvelle réclamation sur ce site depuis.",
        root_cause=(LOGISTICS, "Absence de contrôle de la salle louée avant la session et absence "
                               "d'obligation du loueur sur la température."),
        satisfaction=4, feedback_comment="Merci pour la réponse rapide et les explications.",
    ),
    Scenario(
        key="facture-opco", target=Step.CLOSED, days_ago=296, kind=Kind.COMPLAINT, channel=Channel.LETTER,
        stakeholder=StakeholderType.FUNDER, service=ADMIN,
        complainant=_person("Julien Caron", "Chargé de financement", "OPCO EP", "03 53 01 22 18",
                            "OPCO EP — service financement\n10 rue de la Gare\n59000 Lille"),
        training_action="Habilitation électrique B0-H0V — Transports Duval, 3 salariés",
        subject="Facture erronée transmise à l'OPCO",
        description="Nous avons reçu votre facture n° F-0412 pour la formation habilitation électrique de trois "
                    "salariés de la société Transports Duval. Le montant facturé (1 440 € HT) ne correspond pas "
                    "à l'accord de prise en charge (1 200 € HT). Nous ne pouvons pas procéder au règlement.",
        wished="Une facture rectificative conforme à l'accord de prise en charge.",
        reformulation="L'OPCO refuse de payer une facture de 1 440 € HT alors que l'accord de prise en charge "
                      "porte sur 1 200 € HT : un stagiaire supplémentaire, inscrit après l'accord, a été facturé "
                      "à l'OPCO au lieu de l'entreprise.",
        immediate="Comparer la facture, l'accord de prise en charge et les feuilles d'émargement.",
        plan=((ActionKind.CORRECTIVE, "Émettre un avoir de 240 € HT à l'OPCO et facturer le stagiaire "
                                      "supplémentaire à l'entreprise."),
              (ActionKind.PREVENTIVE, "Contrôle croisé facture / accord de prise en charge avant tout envoi "
                                      "à un financeur.")),
        evaluation=(2, 2, 2), decision=Decision.FAVOURABLE,
        answer="Monsieur, vous avez raison : notre facture F-0412 incluait un stagiaire inscrit après votre "
               "accord de prise en charge. Nous vous adressons un avoir de 240 € HT et une facture rectificative "
               "de 1 200 € HT. Le complément sera facturé directement à l'entreprise.",
        compensation=(Compensation.CREDIT_NOTE, "Avoir n° AV-0037 sur la facture F-0412.", "240.00"),
        progress="L'avoir AV-0037 et la facture rectificative ont été déposés sur votre espace financeur.",
        conclusion="Erreur de facturation corrigée par avoir ; un contrôle croisé est désormais fait avant "
                   "chaque facture adressée à un financeur.",
        root_cause=(BILLING, "Inscription tardive d'un stagiaire non répercutée sur le dossier de financement."),
        satisfaction=5,
    ),
    Scenario(
        key="livret-vae", target=Step.CLOSED, days_ago=263, kind=Kind.DIFFICULTY, channel=Channel.PHONE,
        stakeholder=StakeholderType.LEARNER, service=VAE,
        complainant=_person("Nadia Benali", "Agente de sécurité", "", "06 39 98 45 02",
                            "18 avenue Foch\n62200 Boulogne-sur-Mer"),
        training_action="Accompagnement VAE — titre professionnel Agent de sûreté et de sécurité privée",
        subject="Difficulté à rédiger le livret 2 de VAE",
        description="La candidate appelle : elle n'arrive pas à décrire ses activités dans le livret 2 et "
                    "craint de dépasser la date de dépôt fixée par le certificateur.",
        wished="Un rendez-vous supplémentaire avant la date de dépôt.",
        reformulation="La candidate bloque sur la description des situations de travail du livret 2 ; la date "
                      "de dépôt est dans trois semaines. Elle demande un accompagnement renforcé.",
        immediate="Relire le brouillon de livret 2 envoyé par la candidate pour repérer les blocages.",
        plan=((ActionKind.CORRECTIVE, "Deux séances individuelles supplémentaires de deux heures."),
              (ActionKind.PREVENTIVE, "Remettre dès le premier rendez-vous une trame commentée du livret 2 "
                                      "avec un exemple rédigé.")),
        evaluation=(2, 1, 3), decision=Decision.FAVOURABLE,
        answer="Madame, nous vous proposons deux séances supplémentaires de deux heures, sans surcoût, pour "
               "finaliser votre livret 2 avant la date de dépôt. Votre accompagnatrice vous contacte pour fixer "
               "les dates.",
        compensation=(Compensation.EXTRA_SERVICE, "Quatre heures d'accompagnement supplémentaires offertes.", None),
        progress="La première séance supplémentaire a eu lieu ; la seconde est fixée à la semaine prochaine.",
        conclusion="Livret 2 déposé dans les délais. La trame commentée est désormais remise à tous les "
                   "candidats.",
        root_cause=(PEDAGOGY, "Méthodologie de rédaction du livret 2 insuffisamment outillée."),
        satisfaction=5, feedback_comment="Très bon accompagnement, merci.",
    ),
    Scenario(
        key="formateur-absent", target=Step.CLOSED, days_ago=231, kind=Kind.COMPLAINT, channel=Channel.SURVEY,
        stakeholder=StakeholderType.COMPANY, service=INTRA,
        complainant=_person("Marc Dufour", "Responsable RH", "Logistique Côte d'Opale", "03 53 01 67 90",
                            "ZA du Moulin\n62360 Pont-de-Briques"),
        training_action="Gestes et postures — intra Logistique Côte d'Opale, 2 jours",
        subject="Formateur absent le deuxième jour",
        description="Questionnaire d'évaluation à froid : « Le formateur ne s'est pas présenté le deuxième jour, "
                    "nos 8 salariés ont attendu une heure avant d'être renvoyés à leur poste. Personne ne nous a "
                    "prévenus. »",
        wished="Reprogrammer la deuxième journée sans frais.",
        reformulation="Le formateur ne s'est pas présenté au second jour de la formation intra ; l'entreprise "
                      "n'a pas été prévenue et a immobilisé huit salariés pendant une heure.",
        immediate="Joindre le formateur et reconstituer le déroulé de la matinée.",
        plan=((ActionKind.CORRECTIVE, "Reprogrammer la deuxième journée à une date choisie par l'entreprise, "
                                      "sans frais."),
              (ActionKind.PREVENTIVE, "Procédure d'absence formateur : remplaçant désigné et appel du client "
                                      "avant 8 h.")),
        evaluation=(3, 1, 3), decision=Decision.FAVOURABLE,
        answer="Monsieur, le formateur a été hospitalisé en urgence et l'information ne nous est parvenue "
               "qu'en fin de matinée. Nous aurions dû vous prévenir : nous vous présentons nos excuses. La "
               "deuxième journée est reprogrammée sans frais à la date de votre choix.",
        compensation=(Compensation.EXTRA_SERVICE, "Deuxième journée reprogrammée sans frais.", None),
        progress="La deuxième journée est confirmée pour le 12 ; le formateur remplaçant a reçu le dossier "
                 "pédagogique.",
        conclusion="Journée reprogrammée et réalisée. Une procédure d'absence formateur avec remplaçant est "
                   "en place.",
        root_cause=(TRAINER, "Absence de procédure de remplacement et d'alerte du client en cas d'absence "
                             "imprévue d'un intervenant."),
        satisfaction=None,
    ),
    Scenario(
        key="attestation", target=REOPENED, days_ago=204, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Thomas Leroy", "Cariste", "Entrepôts du Ternois", "06 39 98 73 11"),
        training_action="Manipulation des extincteurs — session du 3 mars, Hesdin",
        subject="Attestation de fin de formation manquante",
        description="J'ai suivi la formation extincteurs il y a un mois et je n'ai toujours pas reçu mon "
                    "attestation de fin de formation. Mon employeur me la demande pour mon dossier.",
        wished="Recevoir l'attestation rapidement par courriel.",
        reformulation="Le stagiaire n'a pas reçu son attestation de fin de formation un mois après la session ; "
                      "son employeur la réclame.",
        immediate="Vérifier l'envoi des attestations de la session du 3 mars.",
        plan=((ActionKind.CORRECTIVE, "Envoyer l'attestation au stagiaire et à son employeur."),
              (ActionKind.PREVENTIVE, "Envoi automatique des attestations depuis l'outil de gestion le "
                                      "lendemain de la session.")),
        evaluation=(1, 1, 2), decision=Decision.FAVOURABLE,
        answer="Monsieur, votre attestation n'avait pas été envoyée à la suite d'une erreur d'adresse. Vous la "
               "trouverez jointe ; une copie a été adressée à votre employeur.",
        compensation=(Compensation.APOLOGY, "Excuses pour le retard.", None),
        progress="Les attestations de la session sont désormais envoyées automatiquement.",
        conclusion="Attestation envoyée ; l'envoi automatique est en place.",
        root_cause=(COMMUNICATION, "Adresse électronique mal saisie lors de l'inscription."),
        satisfaction=4,
        reopen="Le stagiaire signale que l'attestation reçue porte une date de session erronée.",
        reopen_action="Éditer une attestation corrigée et vérifier les dates des autres attestations de la session.",
    ),
    Scenario(
        key="alarme-incendie", target=Step.CLOSED, days_ago=178, kind=Kind.INCIDENT, channel=Channel.IN_PERSON,
        stakeholder="", service=INTER,
        training_action="Habilitation électrique BS — session du 20 mai, Clenleu",
        subject="Déclenchement de l'alarme incendie et évacuation pendant la session",
        description="Aléa constaté par le formateur : l'alarme incendie du bâtiment s'est déclenchée à 10 h 15 "
                    "(détecteur défectueux). Évacuation des 9 stagiaires, reprise à 11 h. Le programme de la "
                    "matinée a été raccourci.",
        reformulation="Aléa interne : une heure de formation perdue à cause d'une fausse alarme ; pas de "
                      "réclamant, les stagiaires ont été informés sur place.",
        immediate="Faire contrôler le détecteur par le propriétaire du bâtiment.",
        plan=((ActionKind.CORRECTIVE, "Rattraper l'heure perdue en fin de seconde journée (accord des stagiaires)."),
              (ActionKind.PREVENTIVE, "Demander au propriétaire le calendrier de maintenance du système "
                                      "d'alarme et l'ajouter au planning des salles.")),
        evaluation=(1, 1, 2), decision=Decision.FAVOURABLE,
        answer="Compte rendu interne : l'heure perdue a été rattrapée le lendemain, les objectifs pédagogiques "
               "ont été atteints. Le détecteur défectueux a été remplacé.",
        conclusion="Aléa maîtrisé : heure rattrapée, détecteur remplacé, maintenance suivie.",
        root_cause=(LOGISTICS, "Détecteur incendie défectueux, maintenance du bâtiment non suivie."),
        not_applicable={
            Step.RECEIVED: "Aléa constaté en interne par le formateur : pas de réclamant à qui accuser réception.",
            Step.REFORMULATION: "Aléa sans réclamant : personne à rappeler.",
            Step.FOLLOW_UP: "Aléa sans réclamant : stagiaires informés sur place le jour même.",
            Step.FEEDBACK: "Aléa sans réclamant : pas d'enquête de satisfaction.",
        },
        handler=QUALITY_LEAD_USERNAME,
    ),
    Scenario(
        key="convocation", target=Step.CLOSED, days_ago=152, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.COMPANY, service=INTRA,
        complainant=_person("Élodie Fontaine", "Responsable formation", "Clinique des Deux Caps",
                            "03 53 01 48 27"),
        training_action="Sécurité incendie — EPI, intra Clinique des Deux Caps",
        subject="Convocations reçues tardivement par les salariés",
        description="Nos salariés ont reçu leur convocation la veille de la formation à 18 h. Trois d'entre eux "
                    "n'ont pas pu se libérer et la session n'a eu lieu qu'avec 7 participants sur 10.",
        wished="Recevoir les convocations au moins une semaine avant chaque session.",
        reformulation="Les convocations ont été envoyées la veille ; trois salariés absents. La cliente demande "
                      "un délai d'une semaine.",
        immediate="Retrouver la date d'envoi des convocations dans l'outil de gestion.",
        plan=((ActionKind.CORRECTIVE, "Proposer une session de rattrapage aux trois salariés absents."),
              (ActionKind.PREVENTIVE, "Envoi des convocations à J-10 avec relance automatique à J-3.")),
        evaluation=(2, 1, 2), decision=Decision.PARTIAL,
        answer="Madame, les convocations ont été envoyées trop tard à cause d'une validation interne tardive du "
               "planning. Nous proposons aux trois salariés absents une place dans notre session "
               "inter-entreprises du mois prochain, sans frais. La session du jour ayant eu lieu, elle reste "
               "facturée pour les sept participants présents.",
        compensation=(Compensation.EXTRA_SERVICE, "Trois places offertes en session inter-entreprises.", None),
        progress="Les trois salariés sont inscrits à la session du 18 ; les convocations sont parties à J-10.",
        conclusion="Rattrapage effectué ; les convocations partent désormais à J-10.",
        root_cause=(COMMUNICATION, "Planning validé tardivement, sans délai minimal d'envoi des convocations."),
        offer="Proposition d'un recyclage EPI groupé pour l'ensemble des services de la clinique.",
        satisfaction=3, feedback_comment="Solution correcte, mais nous aurions aimé être prévenus plus tôt.",
        ack_hours=60,
    ),
    Scenario(
        key="honoraires", target=Step.CLOSED, days_ago=131, kind=Kind.DIFFICULTY, channel=Channel.OTHER,
        stakeholder=StakeholderType.TRAINER, service=ADMIN,
        complainant=_person("Philippe Garnier", "Formateur indépendant SST", "PG Prévention", "06 39 98 30 56"),
        subject="Honoraires d'un intervenant réglés avec deux mois de retard",
        description="Message reçu sur la messagerie de la plateforme : l'intervenant n'a pas été payé pour les "
                    "sessions de février et demande quand le règlement interviendra.",
        wished="Le paiement des deux factures en attente.",
        reformulation="Deux factures de l'intervenant (février) restent impayées après 60 jours ; il souhaite "
                      "un règlement et un interlocuteur identifié.",
        immediate="Rechercher les deux factures dans la comptabilité.",
        plan=((ActionKind.CORRECTIVE, "Régler les deux factures en attente par virement."),
              (ActionKind.PREVENTIVE, "Contrôle mensuel des factures fournisseurs en attente.")),
        evaluation=(2, 1, 1), decision=Decision.FAVOURABLE,
        answer="Monsieur, vos deux factures avaient été classées par erreur dans un dossier clos. Le virement a "
               "été effectué ce jour. Nous vous prions de nous excuser pour ce retard.",
        compensation=(Compensation.APOLOGY, "Excuses et paiement immédiat.", None),
        progress="Le virement a été émis ; vous devriez le recevoir sous 48 heures.",
        conclusion="Factures réglées ; contrôle mensuel des factures en attente instauré.",
        root_cause=(BILLING, "Classement erroné des factures fournisseurs."),
        satisfaction=4,
    ),
    Scenario(
        key="retard-formateur", target=Step.CLOSED, days_ago=112, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.COMPANY, service=INTER,
        complainant=_person("Karim Haddad", "Gérant", "Haddad Bâtiment", "06 39 98 61 84"),
        training_action="SST MAC — session du 9 juin, Étaples",
        subject="Formateur arrivé avec une heure de retard",
        description="Le formateur est arrivé à 9 h 55 au lieu de 9 h. Mes deux salariés ont perdu une heure "
                    "et la formation s'est terminée plus tard que prévu, ce qui a posé un problème pour leur "
                    "chantier.",
        wished="Une remise sur la facture.",
        reformulation="Le formateur est arrivé avec près d'une heure de retard ; la fin de session a été "
                      "décalée, ce qui a désorganisé un chantier. Le client demande une remise.",
        immediate="Recueillir le rapport du formateur sur son retard.",
        plan=((ActionKind.PREVENTIVE, "Rappeler aux intervenants l'arrivée 30 minutes avant le début et "
                                      "l'obligation de prévenir le client en cas de retard."),),
        evaluation=(1, 1, 2), decision=Decision.UNFAVOURABLE,
        answer="Monsieur, le retard du formateur est dû à un accident sur l'A16 ; il a prévenu les stagiaires "
               "présents dès 8 h 50. La durée totale de la formation a été respectée, ce qui ne permet pas "
               "d'accorder une remise. Nous avons néanmoins rappelé à nos intervenants la consigne de prévenir "
               "aussi l'employeur.",
        progress="La consigne de prévenir l'employeur a été ajoutée à la charte des intervenants.",
        conclusion="Durée de formation respectée ; remise refusée. Consigne de prévenance renforcée.",
        root_cause=(TRAINER, "Aléa de circulation ; l'employeur n'était pas dans la chaîne d'information."),
        satisfaction=2, feedback_comment="Réponse compréhensible mais décevante.",
    ),
    Scenario(
        key="financement-cpf", target=Step.CLOSED, days_ago=96, kind=Kind.COMPLAINT, channel=Channel.PHONE,
        stakeholder=StakeholderType.OTHER, service=VAE,
        complainant=_person("Isabelle Moreau", "Conseillère en évolution professionnelle", "CEP Hauts-de-France",
                            "03 53 01 90 14"),
        training_action="Accompagnement VAE — information collective du 2 juillet",
        subject="Informations contradictoires sur le financement CPF",
        description="La conseillère signale que deux de ses bénéficiaires ont reçu des informations "
                    "contradictoires sur la prise en charge CPF de l'accompagnement VAE (site internet et "
                    "réunion d'information).",
        wished="Une information écrite et à jour à transmettre aux bénéficiaires.",
        reformulation="Le site indique un accompagnement de 24 h finançable par le CPF, la réunion d'information "
                      "annonçait 20 h ; la conseillère demande une information écrite fiable.",
        immediate="Comparer la fiche Mon Compte Formation, le site et le support de la réunion.",
        plan=((ActionKind.CORRECTIVE, "Mettre à jour la page VAE du site et le support de la réunion."),
              (ActionKind.PREVENTIVE, "Revue trimestrielle des informations publiées (site, fiches CPF, "
                                      "supports).")),
        evaluation=(2, 1, 2), decision=Decision.FAVOURABLE,
        answer="Madame, le nombre d'heures correct est de 24 h, finançables par le CPF. Le support de réunion "
               "était obsolète : il a été corrigé. Vous trouverez ci-joint la fiche à jour à transmettre aux "
               "bénéficiaires.",
        progress="La page VAE du site a été corrigée ; la fiche à jour vous a été adressée.",
        conclusion="Informations harmonisées ; revue trimestrielle des supports instaurée.",
        root_cause=(COMMUNICATION, "Support de réunion non mis à jour après la révision de l'offre VAE."),
        satisfaction=4,
        handler=QUALITY_LEAD_USERNAME,
    ),
    # --- Step 9: feedback -------------------------------------------------------------------------
    Scenario(
        key="support-illisible", target=Step.FEEDBACK, days_ago=81, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Lucie Vasseur", "Aide-soignante", "EHPAD Les Oyats", "06 39 98 14 77"),
        training_action="Gestes et postures — session du 2 septembre, Berck",
        subject="Support de cours illisible",
        description="Le livret remis en formation est une photocopie de photocopie : les schémas sont "
                    "illisibles et certaines pages sont coupées.",
        wished="Recevoir le support en version numérique.",
        reformulation="Le support papier distribué est de mauvaise qualité (schémas illisibles, pages coupées) ; "
                      "la stagiaire souhaite une version numérique.",
        immediate="Récupérer un exemplaire du livret distribué et vérifier le fichier source.",
        plan=((ActionKind.CORRECTIVE, "Envoyer le support en PDF à tous les stagiaires de la session."),
              (ActionKind.PREVENTIVE, "Imprimer les supports à partir du fichier source, jamais par "
                                      "photocopie.")),
        evaluation=(1, 1, 1), decision=Decision.FAVOURABLE,
        answer="Madame, vous avez raison. Le support en PDF a été envoyé à tous les stagiaires de la session et "
               "nos livrets sont désormais imprimés depuis le fichier source.",
        progress="Le PDF a été envoyé aux 11 stagiaires de la session.",
        conclusion="Support numérique envoyé ; impression depuis le fichier source.",
        root_cause=(DIGITAL, "Supports reproduits par photocopie faute de fichier source accessible au formateur."),
    ),
    Scenario(
        key="emargement", target=Step.FEEDBACK, days_ago=70, kind=Kind.DIFFICULTY, channel=Channel.EMAIL,
        stakeholder=StakeholderType.FUNDER, service=ADMIN,
        complainant=_person("Aurélie Lambert", "Conseillère entreprise", "France Travail — agence de Boulogne",
                            "03 53 01 11 09"),
        training_action="Préparation opérationnelle à l'emploi — agent de sécurité, 6 stagiaires",
        subject="Feuilles d'émargement incomplètes bloquant le paiement",
        description="Les feuilles d'émargement transmises pour la POE ne portent pas la signature du formateur "
                    "sur trois demi-journées. Le paiement est suspendu.",
        wished="Des feuilles d'émargement complètes.",
        reformulation="Trois demi-journées sans signature du formateur sur les émargements de la POE ; le "
                      "financeur suspend le paiement.",
        immediate="Vérifier les originaux des feuilles d'émargement.",
        plan=((ActionKind.CORRECTIVE, "Faire signer les trois demi-journées par le formateur et renvoyer les "
                                      "feuilles."),
              (ActionKind.PREVENTIVE, "Passer à l'émargement électronique avec signature du formateur "
                                      "obligatoire.")),
        evaluation=(2, 1, 3), decision=Decision.FAVOURABLE,
        answer="Madame, les feuilles d'émargement complétées et signées vous ont été transmises ce jour.",
        progress="Le formateur a signé les feuilles ; elles ont été déposées sur votre portail.",
        conclusion="Émargements complétés ; passage à l'émargement électronique décidé.",
        root_cause=(BILLING, "Contrôle des émargements non fait en fin de session."),
        partial=False,
    ),
    # --- Step 8: conclusion -----------------------------------------------------------------------
    Scenario(
        key="rythme", target=Step.CONCLUSION, days_ago=58, kind=Kind.COMPLAINT, channel=Channel.SURVEY,
        stakeholder=StakeholderType.LEARNER, service=INTRA,
        complainant=_person("Hugo Delattre", "Technicien de maintenance", "Papeteries de la Canche"),
        training_action="Habilitation électrique B1V-BR — intra Papeteries de la Canche",
        subject="Rythme trop soutenu et exercices pratiques insuffisants",
        description="Questionnaire de fin de formation : « Beaucoup trop de théorie en peu de temps, nous "
                    "n'avons fait qu'un seul exercice pratique de consignation. »",
        wished="Une demi-journée de pratique supplémentaire.",
        reformulation="Le stagiaire juge le rythme trop rapide et la pratique insuffisante (un seul exercice de "
                      "consignation).",
        immediate="Comparer le déroulé réalisé avec le programme et interroger le formateur.",
        plan=((ActionKind.CORRECTIVE, "Organiser une demi-journée pratique pour le groupe."),
              (ActionKind.PREVENTIVE, "Revoir le déroulé : 40 % de pratique minimum.")),
        evaluation=(2, 2, 2), decision=Decision.PARTIAL,
        answer="Monsieur, le programme prévoyait trois exercices de consignation ; deux ont été supprimés faute "
               "de matériel. Nous proposons une demi-journée pratique au groupe, sans frais.",
        compensation=(Compensation.EXTRA_SERVICE, "Demi-journée pratique offerte.", None),
        progress="La demi-journée pratique est fixée au 4 du mois prochain.",
        conclusion="Déroulé revu pour garantir la part de pratique.",
        root_cause=(PEDAGOGY, "Matériel pédagogique insuffisant pour les exercices prévus."),
    ),
    Scenario(
        key="rapport-audit", target=Step.CONCLUSION, days_ago=50, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.COMPANY, service=CONSEIL,
        complainant=_person("Nathalie Roussel", "Directrice", "Menuiserie Roussel", "03 53 01 36 52"),
        training_action="Audit DUERP — mise à jour du document unique",
        subject="Rapport d'audit livré avec trois semaines de retard",
        description="Le rapport de mise à jour du document unique devait nous être remis le 15. Nous l'avons "
                    "reçu le 6 du mois suivant, après notre réunion CSE.",
        wished="Une remise sur la prestation.",
        reformulation="Le rapport DUERP a été livré trois semaines après la date convenue, après la réunion CSE "
                      "pour laquelle il était attendu.",
        immediate="Reconstituer le planning de la mission avec le consultant.",
        plan=((ActionKind.CORRECTIVE, "Accorder une remise de 10 % sur la prestation."),
              (ActionKind.PREVENTIVE, "Jalons de livraison inscrits au devis et suivis chaque semaine.")),
        evaluation=(2, 1, 2), decision=Decision.FAVOURABLE,
        answer="Madame, le retard est de notre fait : la mission a été replanifiée sans vous consulter. Nous "
               "vous accordons une remise de 10 % sous forme d'avoir.",
        compensation=(Compensation.CREDIT_NOTE, "Avoir de 10 % sur la prestation d'audit.", "180.00"),
        progress="L'avoir a été émis ; le consultant reste disponible pour présenter le rapport à votre CSE.",
        conclusion="Avoir accordé ; jalons de livraison désormais contractuels.",
        root_cause=(LOGISTICS, "Planification des missions de conseil sans jalons de livraison."),
        partial=False,
    ),
    # --- Step 7: follow-up ------------------------------------------------------------------------
    Scenario(
        key="elearning", target=Step.FOLLOW_UP, days_ago=42, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Camille Dubois", "Employée administrative", "Mutuelle du Littoral"),
        training_action="Prévention des risques psychosociaux — parcours e-learning",
        subject="Plateforme e-learning inaccessible",
        description="Depuis lundi, impossible de me connecter à la plateforme e-learning : le message « compte "
                    "expiré » s'affiche. Mon parcours doit être terminé avant la fin du mois.",
        wished="Un accès rétabli et un délai supplémentaire.",
        reformulation="Le compte de la stagiaire a expiré avant la fin de son parcours ; elle demande le "
                      "rétablissement de l'accès et une prolongation.",
        immediate="Vérifier la date d'expiration du compte sur la plateforme.",
        plan=((ActionKind.CORRECTIVE, "Prolonger l'accès de 30 jours."),
              (ActionKind.PREVENTIVE, "Aligner la durée des comptes sur la date de fin de la convention.")),
        evaluation=(2, 1, 2), decision=Decision.FAVOURABLE,
        answer="Madame, votre compte avait été créé avec une durée par défaut trop courte. Votre accès est "
               "rétabli et prolongé de 30 jours.",
        progress="Votre accès est prolongé jusqu'au 30 ; le support technique reste joignable au besoin.",
        conclusion="Accès rétabli ; la durée des comptes suit désormais la convention.",
        root_cause=(DIGITAL, "Durée de compte par défaut de la plateforme non adaptée."),
    ),
    Scenario(
        key="greve", target=Step.FOLLOW_UP, days_ago=36, kind=Kind.INCIDENT, channel=Channel.PHONE,
        stakeholder=StakeholderType.TRAINER, service=INTRA,
        complainant=_person("Sandrine Petit", "Formatrice incendie", "", "06 39 98 52 21"),
        training_action="Équipier de première intervention — intra Hôtel de la Baie",
        subject="Intervenante bloquée par une grève des transports",
        description="La formatrice appelle à 7 h 30 : aucun train ne circule, elle ne pourra pas être à "
                    "l'hôtel pour 9 h.",
        reformulation="Aléa de transport : la formatrice ne peut pas assurer le début de session ; il faut "
                      "prévenir le client et décaler ou remplacer.",
        immediate="Prévenir le client et vérifier la disponibilité d'un formateur remplaçant.",
        plan=((ActionKind.CORRECTIVE, "Décaler la session à 13 h 30 et la prolonger le lendemain matin."),
              (ActionKind.PREVENTIVE, "Prévoir un véhicule de service en cas de mouvement social annoncé.")),
        evaluation=(2, 2, 2), decision=Decision.FAVOURABLE,
        answer="La session a été décalée à 13 h 30 avec l'accord du client ; la durée totale est maintenue.",
        progress="La session s'est déroulée normalement l'après-midi et le lendemain matin.",
        conclusion="Aléa absorbé sans perte d'heures de formation.",
        root_cause=(LOGISTICS, "Dépendance aux transports en commun sans solution de repli."),
        partial=False,
    ),
    # --- Step 6: action ---------------------------------------------------------------------------
    Scenario(
        key="double-facture", target=Step.ACTION, days_ago=28, kind=Kind.COMPLAINT, channel=Channel.LETTER,
        stakeholder=StakeholderType.COMPANY, service=ADMIN,
        complainant=_person("Bernard Lemaire", "Comptable", "Transports Lemaire et Fils", "",
                            "Zone artisanale\n62140 Hesdin"),
        training_action="Gestes et postures — intra, 12 salariés",
        subject="Double facturation d'une session intra",
        description="Courrier : « Nous avons reçu deux factures identiques (F-0688 et F-0691) pour la même "
                    "session. Merci d'annuler l'une d'elles. »",
        wished="L'annulation d'une des deux factures.",
        reformulation="Deux factures identiques ont été émises pour la même session ; le client demande "
                      "l'annulation de la seconde.",
        immediate="Vérifier les deux factures dans le logiciel de facturation.",
        plan=((ActionKind.CORRECTIVE, "Émettre un avoir annulant la facture F-0691."),
              (ActionKind.PREVENTIVE, "Bloquer dans le logiciel la double facturation d'une même session.")),
        evaluation=(1, 1, 2), decision=Decision.FAVOURABLE,
        answer="Monsieur, la facture F-0691 est un doublon : elle est annulée par l'avoir ci-joint.",
        compensation=(Compensation.CREDIT_NOTE, "Avoir annulant la facture F-0691.", "1560.00"),
        conclusion="Doublon annulé.",
        root_cause=(BILLING, "Validation de facture déclenchée deux fois."),
        not_applicable={Step.REFORMULATION: "Le client demande expressément que tous les échanges se fassent "
                                            "par écrit (courrier du 3)."},
    ),
    Scenario(
        key="accessibilite", target=Step.ACTION, days_ago=22, kind=Kind.DIFFICULTY, channel=Channel.IN_PERSON,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Antoine Mercier", "Agent d'accueil", "Mairie de Campagne-lès-Hesdin",
                            "06 39 98 88 03"),
        training_action="SST initial — session des 10 et 11, Clenleu",
        subject="Salle inaccessible en fauteuil roulant",
        description="Le stagiaire, en fauteuil roulant, signale à l'accueil que la salle de l'étage n'est "
                    "accessible que par un escalier.",
        wished="Suivre la session dans une salle accessible.",
        reformulation="Le stagiaire ne peut pas accéder à la salle prévue ; il faut une salle de plain-pied et "
                      "adapter les exercices au sol.",
        immediate="Déplacer immédiatement la session dans la salle du rez-de-chaussée.",
        plan=((ActionKind.CORRECTIVE, "Adapter les exercices pratiques avec le référent handicap."),
              (ActionKind.PREVENTIVE, "Demander les besoins d'aménagement dès l'inscription.")),
        evaluation=(3, 1, 2), decision=Decision.FAVOURABLE,
        answer="Monsieur, la session a été déplacée au rez-de-chaussée et les exercices adaptés avec notre "
               "référent handicap.",
        conclusion="Besoins d'aménagement recueillis à l'inscription.",
        root_cause=(LOGISTICS, "Besoins d'accessibilité non recueillis à l'inscription."),
        partial=False,
    ),
    # --- Step 5: scheduling -----------------------------------------------------------------------
    Scenario(
        key="certificat-realisation", target=Step.SCHEDULING, days_ago=18, kind=Kind.COMPLAINT,
        channel=Channel.EMAIL, stakeholder=StakeholderType.FUNDER, service=ADMIN,
        complainant=_person("Pauline Girard", "Gestionnaire de dossiers", "OPCO 2i", "03 53 01 75 40"),
        training_action="CACES R489 — 2 salariés, Société Métallerie du Nord",
        subject="Certificat de réalisation non transmis à l'OPCO",
        description="Sans certificat de réalisation sous 15 jours, le dossier de prise en charge sera clôturé "
                    "sans paiement.",
        wished="Le certificat de réalisation avant la date limite.",
        reformulation="Le certificat de réalisation manque au dossier ; la clôture sans paiement interviendra "
                      "sous 15 jours.",
        immediate="Vérifier si le certificat a été émis et à quelle adresse il a été envoyé.",
        plan=((ActionKind.CORRECTIVE, "Déposer le certificat de réalisation sur le portail de l'OPCO."),
              (ActionKind.PREVENTIVE, "Check-list de clôture de dossier financeur.")),
        evaluation=(2, 1, 3),
    ),
    Scenario(
        key="accompagnateur-injoignable", target=Step.SCHEDULING, days_ago=15, kind=Kind.COMPLAINT,
        channel=Channel.PHONE, stakeholder=StakeholderType.LEARNER, service=VAE,
        complainant=_person("Fabrice Noël", "Chef d'équipe sécurité", "", "06 39 98 27 65"),
        training_action="Accompagnement VAE — titre professionnel Agent de sûreté",
        subject="Accompagnateur VAE injoignable depuis trois semaines",
        description="Le candidat appelle : ses trois courriels à son accompagnateur sont restés sans réponse "
                    "et son jury approche.",
        wished="Un nouveau rendez-vous rapidement.",
        reformulation="Le candidat n'a plus de réponse de son accompagnateur depuis trois semaines, à "
                      "l'approche du jury.",
        immediate="Joindre l'accompagnateur et fixer un rendez-vous au candidat sous 48 h.",
        plan=((ActionKind.CORRECTIVE, "Désigner un accompagnateur suppléant jusqu'au jury."),
              (ActionKind.PREVENTIVE, "Délai de réponse de 48 h inscrit dans la charte des "
                                      "accompagnateurs.")),
        evaluation=(2, 1, 2),
        partial=False,
    ),
    # --- Step 4: action proposal --------------------------------------------------------------------
    Scenario(
        key="contenu-btp", target=Step.ACTION_PROPOSAL, days_ago=12, kind=Kind.COMPLAINT,
        channel=Channel.WEB_FORM, stakeholder=StakeholderType.COMPANY, service=INTRA,
        complainant=_person("Olivier Blanchard", "Conducteur de travaux", "BTP Blanchard", "03 53 01 58 33"),
        training_action="Prévention des risques — intra BTP Blanchard",
        subject="Contenu non adapté au secteur du BTP",
        description="Les exemples et études de cas concernaient l'industrie et les bureaux, rien sur les "
                    "chantiers. Mes compagnons n'ont pas vu le lien avec leur travail.",
        wished="Une séance complémentaire avec des cas de chantier.",
        reformulation="Le contenu intra n'a pas été adapté aux situations de chantier ; le client demande une "
                      "séance complémentaire.",
        immediate="Relire le questionnaire de positionnement et le programme envoyé au client.",
        plan=((ActionKind.CORRECTIVE, "Séance complémentaire de trois heures centrée sur des cas de chantier."),),
        evaluation=(2, 2, 2),
    ),
    Scenario(
        key="mannequins", target=Step.ACTION_PROPOSAL, days_ago=10, kind=Kind.INCIDENT, channel=Channel.OTHER,
        stakeholder=StakeholderType.TRAINER, service=INTER,
        complainant=_person("Philippe Garnier", "Formateur indépendant SST", "PG Prévention", "06 39 98 30 56"),
        training_action="SST initial — session du 5, Montreuil-sur-Mer",
        subject="Mannequins de simulation SST incomplets",
        description="Signalement en fin de session (fiche d'incident) : deux mannequins livrés sans "
                    "défibrillateur de formation ; les exercices ont été faits à tour de rôle.",
        reformulation="Matériel incomplet : deux défibrillateurs de formation manquants, exercices ralentis.",
        partial=False,
    ),
    # --- Step 3: reformulation ------------------------------------------------------------------------
    Scenario(
        key="horaires", target=Step.REFORMULATION, days_ago=7, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Manon Carpentier", "Vendeuse", "Jardinerie du Val", "06 39 98 90 12"),
        training_action="Manipulation des extincteurs — session du 17, Hesdin",
        subject="Horaires de la session modifiés sans préavis",
        description="La session devait commencer à 9 h ; on nous a annoncé sur place qu'elle finirait à 18 h "
                    "au lieu de 17 h. Je n'ai pas pu récupérer mon fils à l'école.",
        wished="Être prévenue de tout changement d'horaire.",
        reformulation="Fin de session décalée d'une heure, annoncée le jour même ; la stagiaire n'a pas pu "
                      "s'organiser.",
    ),
    Scenario(
        key="questionnaire-accueil", target=Step.REFORMULATION, days_ago=5, kind=Kind.COMPLAINT,
        channel=Channel.SURVEY, stakeholder=StakeholderType.OTHER, service=CONSEIL,
        complainant=_person("Gérard Masson", "Élu au CSE", "Conserverie Masson"),
        training_action="Accompagnement CSE — santé, sécurité et conditions de travail",
        subject="Restitution de l'accompagnement CSE trop tardive",
        description="Questionnaire d'évaluation : « Nous attendions la restitution avant notre réunion "
                    "plénière ; elle est arrivée après. »",
        wished="Une restitution orale lors de la prochaine réunion.",
        partial=False,
    ),
    # --- Step 2: identification -----------------------------------------------------------------------
    Scenario(
        key="parking", target=Step.IDENTIFICATION, days_ago=4, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Yasmine Roger", "Préparatrice de commandes", "Entrepôts du Ternois"),
        training_action="Gestes et postures — session du 24, Saint-Pol-sur-Ternoise",
        subject="Parking inaccessible et accueil fermé à 8 h 30",
        description="Le parking indiqué sur la convocation était fermé et personne n'était à l'accueil à "
                    "8 h 30. Nous avons attendu dehors sous la pluie.",
        wished="Des indications d'accès à jour sur les convocations.",
    ),
    Scenario(
        key="equipes-nuit", target=Step.IDENTIFICATION, days_ago=3, kind=Kind.DIFFICULTY, channel=Channel.PHONE,
        stakeholder=StakeholderType.COMPANY, service=INTRA,
        complainant=_person("Laurent Fournier", "Directeur de site", "Surgelés de l'Authie", "03 53 01 83 66"),
        training_action="Recyclage SST — équipes de nuit",
        subject="Impossible de planifier les sessions pour les équipes de nuit",
        description="Le directeur appelle : les dates proposées sont toutes en journée, ses équipes de nuit ne "
                    "peuvent pas y assister.",
        wished="Des sessions en fin de nuit ou le samedi matin.",
        partial=False,
    ),
    # --- Step 1: received -------------------------------------------------------------------------------
    Scenario(
        key="identifiants", target=Step.RECEIVED, days_ago=0, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Chloé Bertin", "Assistante comptable", "Cabinet Bertin"),
        training_action="Prévention des risques psychosociaux — parcours e-learning",
        subject="Identifiants de la plateforme e-learning non reçus",
        description="Ma formation commence demain et je n'ai toujours pas reçu mes identifiants de connexion.",
        wished="Recevoir mes identifiants aujourd'hui.",
    ),
    Scenario(
        key="annulation", target=Step.RECEIVED, days_ago=2, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.COMPANY, service=ADMIN,
        complainant=_person("Sylvie Gauthier", "Office manager", "Agence Gauthier Immobilier"),
        training_action="Sécurité incendie — EPI, intra",
        subject="Frais d'annulation contestés",
        description="Vous nous facturez 50 % de la session annulée alors que nous avons prévenu 12 jours avant. "
                    "Vos conditions générales parlent de 10 jours.",
        wished="L'annulation des frais.",
        partial=False,
    ),
    Scenario(
        key="remboursement", target=Step.RECEIVED, days_ago=0, kind=Kind.COMPLAINT, channel=Channel.LETTER,
        stakeholder=StakeholderType.LEARNER, service=ADMIN,
        complainant=_person("René Picard", "Retraité", "", "", "7 rue des Écoles\n62990 Beaurainville"),
        training_action="Initiation aux gestes qui sauvent — session grand public",
        subject="Demande de remboursement après annulation pour raison médicale",
        description="Courrier : le stagiaire joint un certificat médical et demande le remboursement de son "
                    "inscription.",
        wished="Le remboursement intégral.",
        partial=False,
    ),
    # --- Discarded --------------------------------------------------------------------------------------
    Scenario(
        key="doublon", target=Step.DISCARDED, days_ago=41, kind=Kind.COMPLAINT, channel=Channel.EMAIL,
        stakeholder=StakeholderType.LEARNER, service=INTER,
        complainant=_person("Camille Dubois", "Employée administrative", "Mutuelle du Littoral"),
        subject="Toujours pas d'accès à la plateforme",
        description="Je vous ai écrit hier via le formulaire : je ne peux toujours pas me connecter.",
        discard="Doublon",
        duplicate_of="elearning",
    ),
    Scenario(
        key="spam", target=Step.DISCARDED, days_ago=2, kind=Kind.COMPLAINT, channel=Channel.WEB_FORM,
        stakeholder=StakeholderType.OTHER, service="",
        complainant=_person("Kevin Seo", "", "Top Ranking Agency"),
        subject="Boostez votre référencement Google !!!",
        description="Bonjour, nous proposons d'augmenter votre trafic de 300 % en 30 jours. Cliquez ici pour "
                    "une offre exclusive.",
        discard="Spam : message publicitaire sans rapport avec nos prestations.",
    ),
)

# What the client gave when filing, by channel; the rest is collected at step 2 (identification).
_INITIAL_CONTACT = {
    Channel.WEB_FORM: ("name", "email"),
    Channel.EMAIL: ("name", "email"),
    Channel.SURVEY: ("name", "email"),
    Channel.PHONE: ("name", "phone"),
    Channel.LETTER: ("name", "address"),
    Channel.IN_PERSON: ("name", "phone"),
    Channel.OTHER: ("name", "email"),
}


# --- The seeder ----------------------------------------------------------------------------------
class DemoSeeder:
    """Writes the demonstration records through the services, step by step."""

    def __init__(self, *, users: dict[str, AbstractUser], rng: random.Random) -> None:
        self.users = users
        self.rng = rng
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.services = {s.name: s for s in Service.objects.all()}
        self.root_causes = {c.name: c for c in RootCauseCategory.objects.all()}
        self.scenarios: dict[int, Scenario] = {}
        self.by_key: dict[str, Reclamation] = {}

    # -- helpers ------------------------------------------------------------------------------------
    def _reload(self, reclamation: Reclamation) -> Reclamation:
        return Reclamation.objects.get(pk=reclamation.pk)

    def _handler(self, reclamation: Reclamation) -> AbstractUser:
        return self.users[self.scenarios[reclamation.pk].handler]

    def _after(self, reclamation: Reclamation, hours: float) -> datetime:
        """A moment ``hours`` after reception, never in the future."""
        moment = reclamation.received_at + timedelta(hours=hours)
        return min(moment, self.now - timedelta(minutes=5))

    def _day_after(self, reclamation: Reclamation, days: int) -> date:
        return timezone.localdate(reclamation.received_at) + timedelta(days=days)

    def _past_day(self, day: date) -> date:
        return min(day, self.today)

    # -- creation -----------------------------------------------------------------------------------
    def run(self) -> None:
        for scenario in sorted(SCENARIOS, key=lambda s: -s.days_ago):
            self.seed(scenario)

    def seed(self, sc: Scenario) -> Reclamation:
        handler = self.users[sc.handler]
        received_at = self.now - timedelta(days=sc.days_ago, hours=self.rng.randint(1, 7),
                                           minutes=self.rng.randint(0, 59))
        fields: dict[str, Any] = {"stakeholder_type": sc.stakeholder, "wished_solution": sc.wished}
        for part in _INITIAL_CONTACT[sc.channel]:
            if sc.complainant.get(part):
                fields[f"complainant_{part}"] = sc.complainant[part]
        if sc.channel == Channel.WEB_FORM:
            # The Contact form asks the client for the service and the training concerned.
            fields["service"] = self.services.get(sc.service)
            fields["training_action"] = sc.training_action
            actor, label = None, WEB_FORM_LABEL
        else:
            actor, label = handler, None
        created = services.reclamation_create(
            actor=actor, label=label, kind=sc.kind, channel=sc.channel, subject=sc.subject,
            description=sc.description, received_at=received_at, **fields,
        )
        reclamation = created.reclamation
        self.scenarios[reclamation.pk] = sc
        self.by_key[sc.key] = reclamation
        if sc.channel == Channel.PHONE:
            services.reclamation_log_communication(
                reclamation=reclamation, actor=handler, kind=CommunicationKind.CALL,
                direction=Communication.Direction.INBOUND, occurred_at=received_at,
                duration_minutes=self.rng.randint(4, 15), body=f"Appel reçu : {sc.description}",
            )

        if sc.target == Step.DISCARDED:
            return self._discard(reclamation, sc)
        if sc.target == REOPENED:
            reclamation = self.advance(reclamation, Step.CLOSED)
            return self._reopen(reclamation, sc)
        reclamation = self.advance(reclamation, sc.target)
        # Entering step 9 sends the survey; elsewhere, some records show the current step half done.
        if sc.target in OPEN_STEPS and (sc.partial or sc.target == Step.FEEDBACK):
            self.partial(reclamation)
        return reclamation

    def advance(self, reclamation: Reclamation, to_state: str) -> Reclamation:
        """Do what each step needs, then complete it, until the record reaches ``to_state``."""
        return services.reclamation_advance(
            reclamation=reclamation, to=to_state, actor=self._handler(reclamation),
            fill=lambda r: getattr(self, f"_fill_{r.state}")(r),
        )

    # -- the nine steps -----------------------------------------------------------------------------
    def _not_applicable(self, reclamation: Reclamation, step: str) -> bool:
        sc = self.scenarios[reclamation.pk]
        if step not in sc.not_applicable:
            return False
        if not (reclamation.not_applicable or {}).get(step):
            services.reclamation_mark_not_applicable(
                reclamation=reclamation, actor=self._handler(reclamation), step=step,
                reason=sc.not_applicable[step],
            )
        return True

    def _acknowledge(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        if sc.channel == Channel.WEB_FORM:
            services.reclamation_record_acknowledgement(
                reclamation=reclamation, actor=None, sent_at=self._after(reclamation, 0.02),
                means="courriel automatique",
            )
            return
        hours = sc.ack_hours if sc.ack_hours is not None else self.rng.uniform(1, 30)
        means = "courrier" if not reclamation.complainant_email and reclamation.complainant_address else "courriel"
        services.reclamation_record_acknowledgement(
            reclamation=reclamation, actor=self._handler(reclamation), sent_at=self._after(reclamation, hours),
            means=means,
        )

    def _fill_received(self, reclamation: Reclamation) -> None:
        if not self._not_applicable(reclamation, Step.RECEIVED) and not reclamation.acknowledged_at:
            self._acknowledge(reclamation)

    def _fill_identification(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        handler = self._handler(reclamation)
        if reclamation.handler_id != handler.pk:
            services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
        changes: dict[str, Any] = {
            f"complainant_{part}": value for part, value in sc.complainant.items() if value
        }
        changes["service"] = self.services.get(sc.service)
        if sc.training_action:
            changes["training_action"] = sc.training_action
        services.reclamation_update(reclamation=reclamation, actor=handler, changes=changes,
                                    expected_state=Step.IDENTIFICATION)

    def _write_reformulation(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        text = sc.reformulation or f"Points clés : {sc.subject.lower()}. {sc.wished}".strip()
        services.reclamation_update(reclamation=reclamation, actor=self._handler(reclamation),
                                    changes={"reformulation": text})

    def _fill_reformulation(self, reclamation: Reclamation) -> None:
        self._write_reformulation(reclamation)
        if self._not_applicable(reclamation, Step.REFORMULATION):
            return
        if reclamation.channel in WRITTEN_CHANNELS and not reclamation.communications.filter(kind="call").exists():
            sc = self.scenarios[reclamation.pk]
            services.reclamation_log_communication(
                reclamation=reclamation, actor=self._handler(reclamation), kind=CommunicationKind.CALL,
                direction=Communication.Direction.OUTBOUND, public=True,
                purpose=Communication.Purpose.INFORMATION_REQUEST,
                occurred_at=self._after(reclamation, self.rng.uniform(20, 45)),
                duration_minutes=self.rng.randint(6, 25),
                subject="Appel de clarification",
                body=f"Appel pour clarifier la demande et valider la reformulation : {sc.reformulation or sc.subject}",
            )

    def _evaluate(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        severity, complexity, repercussions = sc.evaluation
        services.reclamation_update(
            reclamation=reclamation, actor=self._handler(reclamation),
            changes={"severity": severity, "complexity": complexity, "repercussions": repercussions},
        )
        if not reclamation.actions.filter(kind=ActionKind.IMMEDIATE).exists():
            immediate = sc.immediate or f"Recueillir les faits auprès des personnes concernées ({sc.subject.lower()})."
            services.reclamation_add_action(
                reclamation=reclamation, actor=self._handler(reclamation), description=immediate,
                kind=ActionKind.IMMEDIATE, owner=self._handler(reclamation),
                due_date=self._day_after(reclamation, 1), past_due_confirmed=True,  # recorded after the fact
            )

    def _fill_action_proposal(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        self._evaluate(reclamation)
        plan = sc.plan or ((ActionKind.CORRECTIVE, f"Traiter la cause identifiée : {sc.subject.lower()}."),)
        existing = set(reclamation.actions.values_list("description", flat=True))
        for kind, description in plan:
            if description not in existing:
                services.reclamation_add_action(reclamation=reclamation, actor=self._handler(reclamation),
                                                description=description, kind=kind)

    def _schedule(self, action: Action, reclamation: Reclamation) -> None:
        if action.owner_id and action.due_date:
            return
        preventive = action.kind == ActionKind.PREVENTIVE
        owner = self.users[QUALITY_LEAD_USERNAME] if preventive else self._handler(reclamation)
        due = action.due_date or self._day_after(reclamation, self.rng.randint(4, 20))
        services.reclamation_update_action(action=action, actor=self._handler(reclamation),
                                           changes={"owner": owner, "due_date": due}, past_due_confirmed=True)

    def _fill_scheduling(self, reclamation: Reclamation) -> None:
        for action in reclamation.actions.exclude(status=ActionStatus.CANCELLED):
            self._schedule(action, reclamation)

    def _complete_action(self, action: Action, reclamation: Reclamation) -> None:
        if action.status in (ActionStatus.DONE, ActionStatus.CANCELLED):
            return
        done_at = self._past_day(action.due_date - timedelta(days=self.rng.randint(0, 2)))
        done_at = max(done_at, timezone.localdate(reclamation.received_at))
        owner = action.owner.get_full_name() if action.owner else "le responsable"
        services.reclamation_update_action(
            action=action, actor=action.owner or self._handler(reclamation),
            changes={"status": ActionStatus.DONE, "done_at": done_at, "result": f"Réalisée par {owner}."},
        )

    def _draft_answer(self, reclamation: Reclamation) -> None:
        sc = self.scenarios[reclamation.pk]
        changes: dict[str, Any] = {
            "decision": sc.decision,
            "answer": sc.answer or f"Nous avons traité votre demande « {sc.subject} » et mis en place les actions "
                                   "nécessaires.",
        }
        if sc.compensation:
            kind, description, amount = sc.compensation
            changes.update(compensation_type=kind, compensation_description=description,
                           compensation_amount=Decimal(amount) if amount else None)
        services.reclamation_update(reclamation=reclamation, actor=self._handler(reclamation), changes=changes)

    def _fill_action(self, reclamation: Reclamation) -> None:
        for action in reclamation.actions.all():
            self._complete_action(action, reclamation)
        self._draft_answer(reclamation)
        if not self._reload(reclamation).answered_at:
            # A past answer, registered with its real date: demo figures show realistic delays
            # (most answers on time, a few late) and no e-mail leaves for these fictitious clients.
            hours = self.rng.uniform(6, 44) if self.rng.random() < 0.85 else self.rng.uniform(50, 90)
            # Never before the acknowledgement (the service refuses it).
            current = self._reload(reclamation)
            sent_at = max(self._after(current, hours), current.acknowledged_at or current.received_at)
            services.reclamation_send_answer(reclamation=reclamation, actor=self._handler(reclamation),
                                             expected_state=Step.ACTION, sent_at=sent_at,
                                             means=CommunicationKind.EMAIL)

    def _fill_follow_up(self, reclamation: Reclamation) -> None:
        if self._not_applicable(reclamation, Step.FOLLOW_UP):
            return
        sc = self.scenarios[reclamation.pk]
        services.reclamation_log_communication(
            reclamation=reclamation, actor=self._handler(reclamation), kind=CommunicationKind.EMAIL,
            direction=Communication.Direction.OUTBOUND, purpose=Communication.Purpose.PROGRESS, public=True,
            subject=f"Point d'avancement — {reclamation.reference}",
            body=sc.progress or "Les actions annoncées sont en cours ; nous revenons vers vous dès qu'elles "
                                "sont terminées.",
        )

    def _write_conclusion(self, reclamation: Reclamation, *, complete: bool) -> None:
        sc = self.scenarios[reclamation.pk]
        changes: dict[str, Any] = {"conclusion": sc.conclusion or "Demande traitée ; actions réalisées."}
        if complete:
            category, analysis = sc.root_cause
            changes.update(root_cause_category=self.root_causes[category or LOGISTICS],
                           root_cause_analysis=analysis or "Cause identifiée lors de l'analyse des faits.")
            if sc.offer:
                changes["complementary_offer"] = sc.offer
        services.reclamation_update(reclamation=reclamation, actor=self._handler(reclamation), changes=changes)

    def _fill_conclusion(self, reclamation: Reclamation) -> None:
        self._write_conclusion(reclamation, complete=True)

    def _send_survey(self, reclamation: Reclamation) -> None:
        already = reclamation.communications.filter(purpose=Communication.Purpose.CLOSURE).exists()
        if already or self._not_applicable(reclamation, Step.FEEDBACK):
            return
        services.reclamation_log_communication(
            reclamation=reclamation, actor=self._handler(reclamation), kind=CommunicationKind.EMAIL,
            direction=Communication.Direction.OUTBOUND, purpose=Communication.Purpose.CLOSURE, public=True,
            subject="Votre avis sur le traitement de votre réclamation",
            body="Le traitement de votre demande est terminé. Pouvez-vous nous dire, en une minute, si vous "
                 "en êtes satisfait(e) ? Votre réponse nous aide à nous améliorer.",
        )

    def _fill_feedback(self, reclamation: Reclamation) -> None:
        if self._not_applicable(reclamation, Step.FEEDBACK):
            return
        self._send_survey(reclamation)
        sc = self.scenarios[reclamation.pk]
        if sc.satisfaction is None:
            services.reclamation_record_no_feedback(reclamation=reclamation)
        else:
            services.reclamation_record_feedback(reclamation=reclamation, satisfaction=sc.satisfaction,
                                                 comment=sc.feedback_comment, label=CLIENT_LABEL)

    # -- records left in progress ----------------------------------------------------------------------
    def partial(self, reclamation: Reclamation) -> None:
        """Part of the work of the step a record is stopped in, so the list looks like real work."""
        state = reclamation.state
        if state == Step.RECEIVED and reclamation.channel == Channel.WEB_FORM:
            self._acknowledge(reclamation)
        elif state == Step.IDENTIFICATION:
            handler = self._handler(reclamation)
            services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
        elif state == Step.REFORMULATION:
            self._write_reformulation(reclamation)
        elif state == Step.ACTION_PROPOSAL:
            self._evaluate(reclamation)
        elif state == Step.SCHEDULING:
            immediate = reclamation.actions.filter(kind=ActionKind.IMMEDIATE).first()
            if immediate is not None:
                self._schedule(immediate, reclamation)
        elif state == Step.ACTION:
            immediate = reclamation.actions.filter(kind=ActionKind.IMMEDIATE).first()
            if immediate is not None:
                self._complete_action(immediate, reclamation)
            for action in reclamation.actions.exclude(kind=ActionKind.IMMEDIATE):
                services.reclamation_update_action(action=action, actor=action.owner,
                                                   changes={"status": ActionStatus.IN_PROGRESS})
            self._draft_answer(reclamation)
        elif state == Step.FOLLOW_UP:
            services.reclamation_log_communication(
                reclamation=reclamation, actor=None, label=CLIENT_LABEL, kind=CommunicationKind.MESSAGE,
                direction=Communication.Direction.INBOUND, public=True,
                body="Merci pour votre réponse. Pouvez-vous me confirmer quand tout sera réglé ?",
            )
        elif state == Step.CONCLUSION:
            self._write_conclusion(reclamation, complete=False)
        elif state == Step.FEEDBACK:
            self._send_survey(reclamation)

    def _discard(self, reclamation: Reclamation, sc: Scenario) -> Reclamation:
        handler = self.users[sc.handler]
        reason = sc.discard
        if sc.channel == Channel.WEB_FORM:
            self._acknowledge(reclamation)  # automatic, before anybody reads the message
        if sc.duplicate_of:
            original = self.by_key[sc.duplicate_of]
            # A duplicate is noticed once identified: the handler has already taken it.
            self.advance(reclamation, Step.IDENTIFICATION)
            services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
            reason = f"Doublon de {original.reference} (même demande reçue par le formulaire Contact)."
        return services.reclamation_discard(reclamation=reclamation, actor=handler, reason=reason)

    def _reopen(self, reclamation: Reclamation, sc: Scenario) -> Reclamation:
        quality_lead = self.users[QUALITY_LEAD_USERNAME]
        # A closed record takes nothing more: the quality lead reopens it, then the client's message
        # (kept aside meanwhile) is added to it.
        reclamation = services.reclamation_reopen(reclamation=reclamation, actor=quality_lead, reason=sc.reopen,
                                                  step=Step.ACTION_PROPOSAL)
        services.reclamation_log_communication(
            reclamation=reclamation, actor=None, label=CLIENT_LABEL, kind=CommunicationKind.MESSAGE,
            direction=Communication.Direction.INBOUND, public=True, body=sc.reopen,
        )
        services.reclamation_add_action(
            reclamation=reclamation, actor=self._handler(reclamation), description=sc.reopen_action,
            kind=ActionKind.CORRECTIVE, owner=self._handler(reclamation), due_date=self.today + timedelta(days=3),
        )
        return reclamation


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
        # One "send the outbox" message for the whole seeding, not one per e-mail.
        with emails.deferred_dispatch(), transaction.atomic():
            handlers, quality_leads = roles.ensure_groups()
            users, password_notes = self._ensure_users(password, {roles.HANDLERS: handlers,
                                                                   roles.QUALITY_LEADS: quality_leads})
            configured = self._ensure_configuration(users[QUALITY_LEAD_USERNAME])
            if configured:
                record_event(kind=EventKind.CONFIGURATION, actor=None,
                             summary="Configuration de démonstration : " + ", ".join(configured) + ".",
                             data={"changed": configured})
            if Reclamation.objects.exists():
                self.stdout.write("Des réclamations existent déjà : aucune donnée de démonstration ajoutée.")
            else:
                DemoSeeder(users=users, rng=random.Random(2026)).run()  # noqa: S311 - demo data, not secrets
        self._print_summary(password_notes)

    # -- accounts --------------------------------------------------------------------------------------
    def _ensure_users(
        self, password: str | None, groups: dict[str, Group]
    ) -> tuple[dict[str, AbstractUser], dict[str, str]]:
        user_model = get_user_model()
        generated = password or secrets.token_urlsafe(12)
        users: dict[str, AbstractUser] = {}
        notes: dict[str, str] = {}
        for username, first_name, last_name, group_name in STAFF:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(
                    username=username, first_name=first_name, last_name=last_name, is_staff=True,
                    email=f"{_ascii(first_name)}.{_ascii(last_name)}@example.org",
                )
                user.set_password(generated)
                user.save()
                notes[username] = generated
            elif password:
                user.set_password(password)
                user.save(update_fields=["password"])
                notes[username] = password
            else:
                notes[username] = "(inchangé — relancez avec --password pour le redéfinir)"
            user.groups.add(groups[group_name])
            users[username] = user
        return users, notes

    # -- configuration -----------------------------------------------------------------------------------
    def _ensure_configuration(self, quality_lead: AbstractUser) -> list[str]:
        """Fill what is still empty or at its default; never overwrite what the quality lead entered."""
        changed: list[str] = []
        organisation = Organisation.current()
        dirty = False
        for name, value in ORGANISATION.items():
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
            organisation.save()
            changed.append("organisme")
        if not OpeningHours.objects.exists():
            OpeningHours.objects.bulk_create(
                OpeningHours(weekday=weekday, opens_at=opens_at, closes_at=closes_at)
                for weekday in range(5)
                for opens_at, closes_at in OPENING_PERIODS
            )
            changed.append("horaires d'ouverture")
        for position, name in enumerate(SERVICES, start=1):
            _, created = Service.objects.get_or_create(name=name, defaults={"position": position})
            if created and "services" not in changed:
                changed.append("services")
        for name in ROOT_CAUSES:
            _, created = RootCauseCategory.objects.get_or_create(name=name)
            if created and "causes racines" not in changed:
                changed.append("causes racines")
        return changed

    # -- summary ----------------------------------------------------------------------------------------
    def _print_summary(self, password_notes: dict[str, str]) -> None:
        counts = {state: Reclamation.objects.filter(state=state).count() for state, _ in workflow.state_choices()}
        self.stdout.write(f"Réclamations : {sum(counts.values())}")
        for state, label in workflow.state_choices():
            number = f"{OPEN_STEPS.index(state) + 1}. " if state in OPEN_STEPS else "   "
            self.stdout.write(f"  {number}{label:<28} {counts[state]:>3}")
        self.stdout.write("Comptes (connexion sur /backoffice/ et /admin/) :")
        for username, first_name, last_name, group_name in STAFF:
            self.stdout.write(f"  {username:<13} {first_name} {last_name} ({group_name}) — mot de passe : "
                              f"{password_notes[username]}")
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))
