"""The enrollment policy's texts for employees, in English and French.

Keyed by code: reason codes are bare; "check:", "type:" and "method:" entries label
checklist lines and outcomes. Plain (English, French) pairs: the policy runs without Flask,
so these are not gettext messages.
"""

# code -> (English, French)
MESSAGES: dict[str, tuple[str, str]] = {
    "supervised": (
        "This device is supervised by a company; User Enrollment is only for personal devices.",
        "Cet appareil est supervisé par une entreprise ; l’Inscription des utilisateurs est "
        "réservée aux appareils personnels.",
    ),
    "os_too_old": (
        "{platform} {version} is too old: User Enrollment needs {platform} {minimum} or later.",
        "{platform} {version} est trop ancien : l’Inscription des utilisateurs demande "
        "{platform} {minimum} ou une version plus récente.",
    ),
    "setting_not_user_enrollment": (
        "Your account is set up for “{setting}”, not User Enrollment.",
        "Votre compte est prévu pour « {setting} », et non pour l’Inscription des utilisateurs.",
    ),
    "abm_not_linked": (
        "Your company has not linked its Apple Business Manager account yet.",
        "Votre entreprise n’a pas encore relié son compte Apple Business Manager.",
    ),
    "abm_organization_unknown": (
        "The organization behind the company's Apple Business Manager account is not recorded.",
        "L’organisation du compte Apple Business Manager de l’entreprise n’est pas renseignée.",
    ),
    "vpp_token_missing": (
        "Your company's app licences (Apps and Books) are not set up yet.",
        "Les licences d’applications (Apps et livres) de l’entreprise ne sont pas configurées.",
    ),
    "vpp_token_other_organization": (
        "The company's app licences (Apps and Books) belong to “{vpp_organization}”, but its "
        "Apple Business Manager account belongs to “{abm_organization}”; both must be the same "
        "organization.",
        "Les licences d’applications (Apps et livres) appartiennent à « {vpp_organization} », mais "
        "le compte Apple Business Manager à « {abm_organization} » : les deux doivent relever de "
        "la même organisation.",
    ),
    "no_managed_apple_id": (
        "You don't have a work Apple account (Managed Apple ID) yet; ask the IT helpdesk.",
        "Vous n’avez pas encore de compte Apple professionnel (identifiant Apple géré) ; "
        "contactez le support informatique.",
    ),
    "ldap_without_device_role": (
        "Your directory account lacks the device management role that User Enrollment needs.",
        "Votre compte d’annuaire n’a pas le rôle de gestion des appareils que demande "
        "l’Inscription des utilisateurs.",
    ),
    "channel_ade": (
        "Your company enrolls this device automatically, which always means Device Enrollment.",
        "Votre entreprise inscrit cet appareil automatiquement, ce qui implique toujours "
        "l’Inscription de l’appareil.",
    ),
    "channel_configurator": (
        "This device is set up with Apple Configurator, which always means Device Enrollment.",
        "Cet appareil est préparé avec Apple Configurator, ce qui implique toujours "
        "l’Inscription de l’appareil.",
    ),
    "mam_applied": (
        "Your company manages only its apps on this device, which takes priority over User "
        "Enrollment.",
        "Votre entreprise gère seulement ses applications sur cet appareil, ce qui prime sur "
        "l’Inscription des utilisateurs.",
    ),
    "authenticator_only_applies": (
        "You qualify for sign-in-only registration in the company app; only its apps are managed.",
        "Vous pouvez vous enregistrer par simple connexion dans l’application de l’entreprise ; "
        "seules ses applications sont gérées.",
    ),
    "user_enrollment_beats_authenticator_only": (
        "You also qualify for sign-in-only registration, but User Enrollment takes priority.",
        "Vous pourriez aussi vous enregistrer par simple connexion, mais l’Inscription des "
        "utilisateurs est prioritaire.",
    ),
    "reenrollment_keeps_type": (
        "This device is enrolling again, so it keeps the type of its first enrollment "
        "(“{previous}”), even if the setting has changed since.",
        "Cet appareil est réinscrit : il garde le type de sa première inscription "
        "(« {previous} »), même si le réglage a changé depuis.",
    ),
    "reenrollment_type_unavailable": (
        "This device was first enrolled with “{previous}”, but it no longer meets its "
        "requirements, so that type cannot be kept.",
        "Cet appareil a d’abord été inscrit en « {previous} », mais il n’en remplit plus les "
        "conditions : ce type ne peut donc pas être conservé.",
    ),
    "account_driven_needs_newer_os": (
        "Signing in with a work account in Settings needs {platform} {minimum} or later; on "
        "{platform} {version}, you install a profile downloaded from this portal instead.",
        "La connexion avec un compte professionnel dans Réglages demande {platform} {minimum} ou "
        "une version plus récente ; sous {platform} {version}, vous installez plutôt un profil "
        "téléchargé depuis ce portail.",
    ),
    "all_criteria_met": (
        "All User Enrollment requirements are met: your company manages only its own apps and "
        "data, never your personal content.",
        "Toutes les conditions de l’Inscription des utilisateurs sont remplies : votre entreprise "
        "ne gère que ses applications et données, jamais votre contenu personnel.",
    ),
    "check:unsupervised": ("Not supervised by a company", "Non supervisé par une entreprise"),
    "check:os_supported": (
        "iOS or iPadOS 13, or macOS 10.15, or later",
        "iOS ou iPadOS 13, ou macOS 10.15, ou plus récent",
    ),
    "check:setting_user_enrollment": (
        "Account set up for User Enrollment",
        "Compte prévu pour l’Inscription des utilisateurs",
    ),
    "check:apple_business_manager": (
        "Apple Business Manager and app licences from the same organization",
        "Apple Business Manager et licences d’applications de la même organisation",
    ),
    "check:managed_apple_id": (
        "Work Apple account (Managed Apple ID)",
        "Compte Apple professionnel (identifiant Apple géré)",
    ),
    "check:ldap_device_role": (
        "Directory accounts: device management role",
        "Comptes d’annuaire : rôle de gestion des appareils",
    ),
    "type:user": ("User Enrollment", "Inscription des utilisateurs"),
    "type:device": ("Device Enrollment", "Inscription de l’appareil"),
    "type:mam": ("App management only", "Gestion des applications uniquement"),
    "method:account_driven": ("account-driven", "par le compte professionnel"),
    "method:profile": ("profile-based", "par profil"),
    "method:ade": ("automated (Apple Business Manager)", "automatique (Apple Business Manager)"),
    "method:configurator": ("with Apple Configurator", "avec Apple Configurator"),
    "method:none": ("no enrollment profile", "sans profil d’inscription"),
}
