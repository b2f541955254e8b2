"""Everything the Slack assistant says, in English and French.

Kept as one catalogue of (English, French) pairs, like `portal.enrollment.policy.MESSAGES`:
a reply is built for the person asking, whatever language the request that carried it was
in, and both languages are tested from this one table.
"""

from __future__ import annotations

LANGUAGES = ("en", "fr")

MESSAGES: dict[str, tuple[str, str]] = {
    # -- help ---------------------------------------------------------------------------------
    "help.title": ("Enrollment assistant", "Assistant d’inscription"),
    "help.intro": (
        "I help you enroll your iPhone, iPad or Mac with {company}. Ask me in a direct message, "
        "mention me, or use `/enroll`:",
        "Je vous aide à inscrire votre iPhone, iPad ou Mac auprès de {company}. Écrivez-moi en "
        "message direct, mentionnez-moi ou utilisez `/enroll` :",
    ),
    "help.not_understood": (
        "Sorry, I didn't understand that.",
        "Désolé, je n’ai pas compris.",
    ),
    "help.unknown_command": (
        "I don't know the command “{word}”.",
        "Je ne connais pas la commande « {word} ».",
    ),
    "help.status": (
        "`/enroll status` — your enrollment status and devices (or: “what's my enrollment "
        "status?”)",
        "`/enroll status` — l’état de votre inscription et vos appareils (ou : « statut de mon "
        "inscription »)",
    ),
    "help.link": (
        "`/enroll link` — a new enrollment link and QR code, sent to you here and by e-mail "
        "(or: “send me my link”)",
        "`/enroll link` — un nouveau lien d’inscription et son code QR, envoyés ici et par "
        "e-mail (ou : « envoie-moi mon lien »)",
    ),
    "help.help": ("`/enroll help` — this help", "`/enroll help` — cette aide"),
    "help.helpdesk": ("For the helpdesk:", "Pour le support informatique :"),
    "help.status_other": (
        "`/enroll status @someone` or `/enroll status someone@example.com` — someone's status",
        "`/enroll status @quelqu’un` ou `/enroll status quelquun@example.com` — l’état d’une "
        "autre personne",
    ),
    "help.resend": (
        "`/enroll resend @someone` — send them a new invitation by e-mail (or: “resend "
        "bob@example.com”)",
        "`/enroll resend @quelqu’un` — lui envoyer une nouvelle invitation par e-mail (ou : "
        "« renvoie l’invitation de @bob »)",
    ),
    # -- who is asking ------------------------------------------------------------------------
    "identity.no_email": (
        "I can't see an e-mail address on your Slack profile, so I can't find your portal "
        "account. Ask the IT helpdesk.",
        "Je ne vois pas d’adresse e-mail dans votre profil Slack : je ne peux donc pas trouver "
        "votre compte du portail. Contactez le support informatique.",
    ),
    "identity.no_account": (
        "There is no portal account for {email}. If you should have one, ask the IT helpdesk.",
        "Il n’existe pas de compte du portail pour {email}. Si vous devriez en avoir un, "
        "contactez le support informatique.",
    ),
    "identity.inactive": (
        "Your portal account is deactivated. Ask the IT helpdesk.",
        "Votre compte du portail est désactivé. Contactez le support informatique.",
    ),
    "target.refused": (
        "Sorry, only the IT helpdesk can look up or resend someone else's enrollment. You can "
        "ask about your own with `/enroll status`.",
        "Désolé, seul le support informatique peut consulter ou renvoyer l’inscription d’une "
        "autre personne. Vous pouvez consulter la vôtre avec `/enroll status`.",
    ),
    "target.unresolved": (
        "I couldn't tell who “{name}” is. Mention them so Slack links the name (@name), or "
        "give their e-mail address.",
        "Je n’ai pas pu identifier « {name} ». Mentionnez la personne pour que Slack relie son "
        "nom (@nom), ou donnez son adresse e-mail.",
    ),
    "target.no_email": (
        "{who} has no e-mail address on their Slack profile, so I can't find their portal "
        "account. Try their e-mail address.",
        "{who} n’a pas d’adresse e-mail dans son profil Slack : je ne trouve donc pas son compte "
        "du portail. Essayez avec son adresse e-mail.",
    ),
    "target.no_account": (
        "There is no portal account for {who}.",
        "Il n’existe pas de compte du portail pour {who}.",
    ),
    "target.needed": (
        "Whose invitation should I resend? For example: `/enroll resend @bob` or `/enroll "
        "resend bob@example.com`.",
        "À qui dois-je renvoyer l’invitation ? Par exemple : `/enroll resend @bob` ou `/enroll "
        "resend bob@example.com`.",
    ),
    # -- status -------------------------------------------------------------------------------
    "status.title_own": ("Your enrollment", "Votre inscription"),
    "status.title_other": ("Enrollment of {name}", "Inscription de {name}"),
    "status.enrollment": (
        "*Enrollment:* {summary} (for {platform} {version})",
        "*Inscription :* {summary} (pour {platform} {version})",
    ),
    "status.apple_id": ("*Managed Apple ID:* {value}", "*Identifiant Apple géré :* {value}"),
    "status.apple_id_none": ("none yet", "pas encore"),
    "status.invitation": ("*Invitation:* {value}", "*Invitation :* {value}"),
    "invitation.valid": ("valid until {date}", "valable jusqu’au {date}"),
    "invitation.expired": ("expired on {date}", "expirée le {date}"),
    "invitation.revoked": ("replaced or revoked", "remplacée ou révoquée"),
    "invitation.used": ("used", "utilisée"),
    "invitation.unknown": ("none sent yet", "aucune envoyée pour l’instant"),
    "invitation.delivery_failed": (
        "(the e-mail could not be delivered)",
        "(l’e-mail n’a pas pu être remis)",
    ),
    "status.devices": ("*Devices*", "*Appareils*"),
    "status.no_devices": ("No devices yet.", "Aucun appareil pour l’instant."),
    "status.more_devices": (
        "…and {count} more in the portal.",
        "…et {count} de plus sur le portail.",
    ),
    "device.line": (
        "{name} — {platform} {version} — {status}, {type} — last check-in {checkin}",
        "{name} — {platform} {version} — {status}, {type} — dernier contact {checkin}",
    ),
    "device.never": ("never", "jamais"),
    "device.unnamed": ("Unnamed device", "Appareil sans nom"),
    "device.status.invited": ("invited", "invité"),
    "device.status.profile_downloaded": ("profile downloaded", "profil téléchargé"),
    "device.status.authenticated": ("signed in", "authentifié"),
    "device.status.enrolled": ("enrolled", "inscrit"),
    "device.status.unenrolled": ("unenrolled", "désinscrit"),
    "device.status.expired": ("never finished (expired)", "jamais terminé (expiré)"),
    "button.resend": ("Resend invitation", "Renvoyer l’invitation"),
    "button.open_portal": ("Open the portal", "Ouvrir le portail"),
    "button.send_link": ("Send me my enrollment link", "M’envoyer mon lien d’inscription"),
    "confirm.title": ("Resend the invitation?", "Renvoyer l’invitation ?"),
    "confirm.text": (
        "{name} gets a new link by e-mail; the previous link stops working.",
        "{name} recevra un nouveau lien par e-mail ; le lien précédent ne fonctionnera plus.",
    ),
    "confirm.yes": ("Resend", "Renvoyer"),
    "confirm.no": ("Cancel", "Annuler"),
    # -- links and resends --------------------------------------------------------------------
    "link.title": ("Your enrollment link", "Votre lien d’inscription"),
    "link.body": (
        "Open this link on the iPhone, iPad or Mac you want to enroll: {link}\nIt is valid "
        "until {date} and works once. I've also sent it to {email}.",
        "Ouvrez ce lien sur l’iPhone, l’iPad ou le Mac à inscrire : {link}\nIl est valable "
        "jusqu’au {date} et ne sert qu’une fois. Je l’ai aussi envoyé à {email}.",
    ),
    "link.qr": (
        "On a computer? Sign in to the portal and scan the QR code with your phone: {url}",
        "Sur un ordinateur ? Connectez-vous au portail et scannez le code QR avec votre "
        "téléphone : {url}",
    ),
    "link.sent_dm": (
        "I've sent you a direct message with your enrollment link.",
        "Je vous ai envoyé votre lien d’inscription en message direct.",
    ),
    "resend.done": (
        "Done: {name} ({email}) gets a new invitation by e-mail, valid until {date}. The "
        "previous link no longer works.",
        "C’est fait : {name} ({email}) reçoit une nouvelle invitation par e-mail, valable "
        "jusqu’au {date}. Le lien précédent ne fonctionne plus.",
    ),
    "cooldown": (
        "That was already sent a moment ago, so I didn't send it twice. If nothing arrives "
        "within a few minutes, ask again.",
        "C’est déjà parti il y a un instant : je ne l’ai pas envoyé deux fois. Si rien "
        "n’arrive d’ici quelques minutes, redemandez.",
    ),
    "error.rate_limited": (
        "Too many invitations were sent for {who} in the last hour. The next one is possible "
        "at {time}.",
        "Trop d’invitations ont été envoyées pour {who} dans l’heure. La prochaine sera "
        "possible à {time}.",
    ),
    "error.cannot_invite": (
        "No invitation can be sent for {who}: {reason}.",
        "Aucune invitation ne peut être envoyée pour {who} : {reason}.",
    ),
    "error.internal": (
        "Sorry, something went wrong on our side. Please try again in a moment.",
        "Désolé, un problème est survenu de notre côté. Réessayez dans un instant.",
    ),
    "you": ("you", "vous"),
    "labelled": ("{label}: {value}", "{label} : {value}"),
    # -- App Home -----------------------------------------------------------------------------
    "home.greeting": ("Hello {name}!", "Bonjour {name} !"),
    "home.intro": (
        "Here is where your enrollment with {company} stands.",
        "Voici où en est votre inscription auprès de {company}.",
    ),
    "home.helpdesk": (
        "Helpdesk: `/enroll status @someone` shows a person's status; `/enroll resend @someone` "
        "sends them a new invitation.",
        "Support informatique : `/enroll status @quelqu’un` affiche l’état d’une "
        "personne ; `/enroll resend @quelqu’un` lui envoie une nouvelle invitation.",
    ),
    # -- messages the portal queues (bot.notifications) --------------------------------------
    "enrolled.title": ("Your {device} is enrolled", "Votre {device} est inscrit"),
    "enrolled.intro": (
        "Your {device} is now enrolled with {company}. Here is what your company can and "
        "cannot see and do on it:",
        "Votre {device} est maintenant inscrit auprès de {company}. Voici ce que votre "
        "entreprise peut et ne peut pas voir ni faire dessus :",
    ),
    "enrolled.can": ("*Your company can:*", "*Votre entreprise peut :*"),
    "enrolled.cannot": ("*Your company cannot:*", "*Votre entreprise ne peut pas :*"),
    "admin.lock": (
        "Your IT team locked your {device}. Unlock it with your passcode.",
        "Votre équipe informatique a verrouillé votre {device}. Déverrouillez-le avec votre code.",
    ),
    "admin.remove_work_data": (
        "Your IT team removed the work apps and data from your {device}. Your personal data "
        "was not touched.",
        "Votre équipe informatique a retiré les apps et données professionnelles de votre "
        "{device}. Vos données personnelles n’ont pas été touchées.",
    ),
    "admin.wipe": (
        "Your IT team erased your {device}.",
        "Votre équipe informatique a effacé votre {device}.",
    ),
    "admin.question": (
        "Questions? Ask your IT helpdesk.",
        "Des questions ? Adressez-vous à votre support informatique.",
    ),
    "reminder.text": (
        "Reminder: your device is not enrolled with {company} yet. Open your enrollment page "
        "on the iPhone, iPad or Mac you want to use for work: {link}",
        "Rappel : votre appareil n’est pas encore inscrit auprès de {company}. Ouvrez votre "
        "page d’inscription sur l’iPhone, l’iPad ou le Mac que vous voulez utiliser pour le "
        "travail : {link}",
    ),
    "button.enroll": ("Open my enrollment page", "Ouvrir ma page d’inscription"),
    "helpdesk.enrollment_refused": (
        ":warning: An enrollment was refused for {who}: {reason}",
        ":warning: Une inscription a été refusée pour {who} : {reason}",
    ),
    "helpdesk.licence_failed": (
        ":warning: An app licence could not be assigned to {who}: {reason}",
        ":warning: Une licence d’app n’a pas pu être attribuée à {who} : {reason}",
    ),
    "helpdesk.admin_notification": (
        ":warning: Something needs a person ({reason}) for {who}",
        ":warning: Une intervention est nécessaire ({reason}) pour {who}",
    ),
    "helpdesk.personal_device_request": (
        ":iphone: {who} says their {device} is a personal device and asks for User Enrollment "
        "instead of Device Enrollment.",
        ":iphone: {who} indique que son {device} est un appareil personnel et demande "
        "l’Inscription des utilisateurs au lieu de l’Inscription de l’appareil.",
    ),
    "helpdesk.note": ("Their message: “{note}”", "Son message : « {note} »"),
    "helpdesk.handled": ("Mark as handled", "Marquer comme traitée"),
    "helpdesk.handled_by": (
        ":white_check_mark: Handled by {name}.",
        ":white_check_mark: Traitée par {name}.",
    ),
    "handled.done": (
        "Done: the request of {who} is marked as handled.",
        "C’est fait : la demande de {who} est marquée comme traitée.",
    ),
    "handled.gone": (
        "That request was already handled, or no longer exists.",
        "Cette demande a déjà été traitée, ou n’existe plus.",
    ),
    "handled.refused": (
        "Sorry, only the IT helpdesk can mark a request as handled.",
        "Désolé, seul le support informatique peut marquer une demande comme traitée.",
    ),
    "helpdesk.someone": ("an unknown person", "une personne inconnue"),
    "helpdesk.open": ("Open in the portal", "Ouvrir dans le portail"),
    "device.generic": ("device", "appareil"),
}


def lang_of(locale: str | None) -> str | None:
    """ "fr", "fr-FR", "fr_CA" → "fr"; "en-GB" → "en"; anything else → None."""
    tag = str(locale or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return tag if tag in LANGUAGES else None


def t(key: str, lang: str, **params: object) -> str:
    """The message `key` in `lang` (English unless "fr"), with `params` filled in."""
    english, french = MESSAGES[key]
    text = french if lang == "fr" else english
    return text.format(**params) if params else text
