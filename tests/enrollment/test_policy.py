"""Tests for the enrollment policy (SPEC §1)."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.enrollment.policy import (
    MESSAGES,
    Channel,
    Check,
    Decision,
    DeviceFacts,
    EnrollmentType,
    Method,
    OrgFacts,
    Platform,
    Reason,
    UserFacts,
    decide,
    parse_version,
    user_enrollment_methods,
)

USER, DEVICE, MAM = EnrollmentType.USER, EnrollmentType.DEVICE, EnrollmentType.MAM
ACCOUNT, PROFILE, NONE = Method.ACCOUNT_DRIVEN, Method.PROFILE, Method.NONE
CHECK_ORDER = (
    "unsupervised",
    "os_supported",
    "setting_user_enrollment",
    "apple_business_manager",
    "managed_apple_id",
    "ldap_device_role",
)


def facts(user=None, device=None, org=None):
    """Facts of an eligible employee on iOS 17.4 over the web, overridden by the given dicts."""
    u = UserFacts(
        setting_type=USER,
        has_managed_apple_id=True,
        source="entra",
        has_device_management_role=False,
    )
    d = DeviceFacts(platform=Platform.IOS, os_version=(17, 4))
    o = OrgFacts(abm_linked=True, abm_organization="Acme Corp", vpp_token_organization="Acme Corp")
    return (
        dataclasses.replace(u, **(user or {})),
        dataclasses.replace(d, **(device or {})),
        dataclasses.replace(o, **(org or {})),
    )


def case(id, type_, method, codes, user=None, device=None, org=None):
    return pytest.param(user, device, org, type_, method, codes, id=id)


MET = ("all_criteria_met",)
LDAP = {"source": "ldap"}
PREV_USER = {"previous_enrollment_type": USER}

CRITERIA = [
    case("eligible-ios17-web", USER, ACCOUNT, MET),
    case("1-supervised", DEVICE, PROFILE, ("supervised",), device={"supervised": True}),
    case(
        "3-setting-device",
        DEVICE,
        PROFILE,
        ("setting_not_user_enrollment",),
        user={"setting_type": DEVICE},
    ),
    case(
        "3-setting-mam",
        DEVICE,
        PROFILE,
        ("setting_not_user_enrollment",),
        user={"setting_type": MAM},
    ),
    case("4-abm-not-linked", DEVICE, PROFILE, ("abm_not_linked",), org={"abm_linked": False}),
    case(
        "4-vpp-token-missing",
        DEVICE,
        PROFILE,
        ("vpp_token_missing",),
        org={"vpp_token_organization": None},
    ),
    case(
        "4-vpp-token-blank",
        DEVICE,
        PROFILE,
        ("vpp_token_missing",),
        org={"vpp_token_organization": "   "},
    ),
    case(
        "4-abm-organization-unknown",
        DEVICE,
        PROFILE,
        ("abm_organization_unknown",),
        org={"abm_organization": None},
    ),
    case(
        "4-vpp-token-other-org",
        DEVICE,
        PROFILE,
        ("vpp_token_other_organization",),
        org={"vpp_token_organization": "Globex"},
    ),
    case(
        "4-vpp-same-org-case-and-spaces",
        USER,
        ACCOUNT,
        MET,
        org={"abm_organization": " ACME corp ", "vpp_token_organization": "acme Corp"},
    ),
    case(
        "5-no-managed-apple-id",
        DEVICE,
        PROFILE,
        ("no_managed_apple_id",),
        user={"has_managed_apple_id": False},
    ),
    case("6-ldap-without-role", DEVICE, PROFILE, ("ldap_without_device_role",), user=LDAP),
    case(
        "6-ldap-with-role",
        USER,
        ACCOUNT,
        MET,
        user={"source": "ldap", "has_device_management_role": True},
    ),
    case("6-local-without-role", USER, ACCOUNT, MET, user={"source": "local"}),
    case(
        "all-failing-listed-in-order",
        DEVICE,
        PROFILE,
        (
            "supervised",
            "os_too_old",
            "setting_not_user_enrollment",
            "abm_not_linked",
            "no_managed_apple_id",
            "ldap_without_device_role",
        ),
        user={"setting_type": DEVICE, "has_managed_apple_id": False, "source": "ldap"},
        device={"supervised": True, "os_version": (12, 4)},
        org={"abm_linked": False},
    ),
    case(
        "device-account-ios17-adde",
        DEVICE,
        ACCOUNT,
        ("setting_not_user_enrollment",),
        user={"setting_type": DEVICE},
        device={"channel": Channel.ACCOUNT},
    ),
    case(
        "device-account-macos14-adde",
        DEVICE,
        ACCOUNT,
        ("setting_not_user_enrollment",),
        user={"setting_type": DEVICE},
        device={"channel": Channel.ACCOUNT, "platform": Platform.MACOS, "os_version": (14, 0)},
    ),
    case(
        "device-account-ios16-no-adde",
        DEVICE,
        PROFILE,
        ("setting_not_user_enrollment", "account_driven_needs_newer_os"),
        user={"setting_type": DEVICE},
        device={"channel": Channel.ACCOUNT, "os_version": (16, 7)},
    ),
]

PRECEDENCE = [
    case("ade-eligible", DEVICE, Method.ADE, ("channel_ade",), device={"channel": Channel.ADE}),
    case(
        "configurator-eligible",
        DEVICE,
        Method.CONFIGURATOR,
        ("channel_configurator",),
        device={"channel": Channel.CONFIGURATOR},
    ),
    case(
        "ade-supervised-lists-criterion",
        DEVICE,
        Method.ADE,
        ("channel_ade", "supervised"),
        device={"channel": Channel.ADE, "supervised": True},
    ),
    case(
        "ade-beats-mam",
        DEVICE,
        Method.ADE,
        ("channel_ade",),
        device={"channel": Channel.ADE, "mam_applied": True},
    ),
    case(
        "ade-beats-reenrollment",
        DEVICE,
        Method.ADE,
        ("channel_ade",),
        device={"channel": Channel.ADE, **PREV_USER},
    ),
    case(
        "configurator-beats-reenrollment",
        DEVICE,
        Method.CONFIGURATOR,
        ("channel_configurator",),
        device={"channel": Channel.CONFIGURATOR, "previous_enrollment_type": MAM},
    ),
    case("mam-beats-user-enrollment", MAM, NONE, ("mam_applied",), device={"mam_applied": True}),
    case(
        "mam-with-failed-criterion",
        MAM,
        NONE,
        ("mam_applied", "setting_not_user_enrollment"),
        user={"setting_type": DEVICE},
        device={"mam_applied": True},
    ),
    case(
        "mam-beats-authenticator-only",
        MAM,
        NONE,
        ("mam_applied",),
        device={"mam_applied": True, "authenticator_only_match": True},
    ),
    case(
        "user-enrollment-beats-authenticator-only",
        USER,
        ACCOUNT,
        ("all_criteria_met", "user_enrollment_beats_authenticator_only"),
        device={"authenticator_only_match": True},
    ),
    case(
        "authenticator-only-when-ue-fails-is-mam",
        MAM,
        NONE,
        ("authenticator_only_applies", "no_managed_apple_id"),
        user={"has_managed_apple_id": False},
        device={"authenticator_only_match": True},
    ),
    case(
        "reenroll-user-after-setting-changed",
        USER,
        ACCOUNT,
        ("reenrollment_keeps_type",),
        user={"setting_type": DEVICE},
        device=PREV_USER,
    ),
    case(
        "reenroll-user-same-setting",
        USER,
        ACCOUNT,
        ("all_criteria_met", "reenrollment_keeps_type"),
        device=PREV_USER,
    ),
    case(
        "reenroll-user-beats-mam",
        USER,
        ACCOUNT,
        ("all_criteria_met", "reenrollment_keeps_type"),
        device={"mam_applied": True, **PREV_USER},
    ),
    case(
        "reenroll-user-ios14-profile",
        USER,
        PROFILE,
        ("reenrollment_keeps_type",),
        user={"setting_type": DEVICE},
        device={"os_version": (14, 8), **PREV_USER},
    ),
    case(
        "reenroll-device-after-setting-changed",
        DEVICE,
        PROFILE,
        ("reenrollment_keeps_type",),
        device={"previous_enrollment_type": DEVICE},
    ),
    case(
        "reenroll-device-account-adde",
        DEVICE,
        ACCOUNT,
        ("reenrollment_keeps_type",),
        device={"previous_enrollment_type": DEVICE, "channel": Channel.ACCOUNT},
    ),
    case(
        "reenroll-mam-without-mam-config",
        MAM,
        NONE,
        ("reenrollment_keeps_type",),
        device={"previous_enrollment_type": MAM},
    ),
    case(
        "reenroll-user-now-supervised",
        DEVICE,
        PROFILE,
        ("reenrollment_type_unavailable", "supervised"),
        device={"supervised": True, **PREV_USER},
    ),
    case(
        "reenroll-user-lost-managed-apple-id",
        DEVICE,
        PROFILE,
        ("reenrollment_type_unavailable", "setting_not_user_enrollment", "no_managed_apple_id"),
        user={"setting_type": DEVICE, "has_managed_apple_id": False},
        device=PREV_USER,
    ),
    case(
        "reenroll-user-unavailable-then-mam",
        MAM,
        NONE,
        ("reenrollment_type_unavailable", "mam_applied", "supervised"),
        device={"supervised": True, "mam_applied": True, **PREV_USER},
    ),
    case(
        "reenroll-user-old-os",
        DEVICE,
        PROFILE,
        ("reenrollment_type_unavailable", "os_too_old"),
        device={"os_version": (12, 4), **PREV_USER},
    ),
    case(
        "reenroll-mam-old-os",
        DEVICE,
        PROFILE,
        ("reenrollment_type_unavailable", "os_too_old"),
        device={"os_version": (12, 4), "previous_enrollment_type": MAM},
    ),
    case(
        "reenroll-device-old-os",
        DEVICE,
        PROFILE,
        ("os_too_old",),
        device={"os_version": (12, 4), "previous_enrollment_type": DEVICE},
    ),
    case(
        "old-os-beats-mam",
        DEVICE,
        PROFILE,
        ("os_too_old",),
        device={"os_version": (12, 4), "mam_applied": True},
    ),
    case(
        "old-os-beats-authenticator-only",
        DEVICE,
        PROFILE,
        ("os_too_old",),
        device={"os_version": (12, 4), "authenticator_only_match": True},
    ),
    case(
        "account-channel-ios14-falls-back-to-profile",
        USER,
        PROFILE,
        ("all_criteria_met", "account_driven_needs_newer_os"),
        device={"channel": Channel.ACCOUNT, "os_version": (14, 8)},
    ),
    case(
        "account-channel-macos13-falls-back-to-profile",
        USER,
        PROFILE,
        ("all_criteria_met", "account_driven_needs_newer_os"),
        device={"channel": Channel.ACCOUNT, "platform": Platform.MACOS, "os_version": (13, 6)},
    ),
    case(
        "account-channel-ios12-device-profile",
        DEVICE,
        PROFILE,
        ("os_too_old", "account_driven_needs_newer_os"),
        device={"channel": Channel.ACCOUNT, "os_version": (12, 4)},
    ),
    case(
        "account-channel-ios15",
        USER,
        ACCOUNT,
        MET,
        device={"channel": Channel.ACCOUNT, "os_version": (15, 0)},
    ),
]

TOO_OLD = ("os_too_old",)
BOUNDARIES = [
    case(
        f"{platform}-{'.'.join(map(str, version))}-web",
        type_,
        method,
        codes,
        device={"platform": platform, "os_version": version},
    )
    for platform in (Platform.IOS, Platform.IPADOS)
    for version, type_, method, codes in [
        ((12, 4), DEVICE, PROFILE, TOO_OLD),
        ((12, 5, 7), DEVICE, PROFILE, TOO_OLD),
        ((13,), USER, PROFILE, MET),
        ((13, 0), USER, PROFILE, MET),
        ((13, 1), USER, PROFILE, MET),
        ((14, 0), USER, PROFILE, MET),
        ((14, 8, 1), USER, PROFILE, MET),
        ((15, 0), USER, ACCOUNT, MET),
        ((17, 0), USER, ACCOUNT, MET),
        ((17, 7), USER, ACCOUNT, MET),
        ((18, 0), USER, ACCOUNT, MET),
        ((26, 1), USER, ACCOUNT, MET),
    ]
] + [
    case(
        f"macos-{'.'.join(map(str, version))}-web",
        type_,
        method,
        codes,
        device={"platform": Platform.MACOS, "os_version": version},
    )
    for version, type_, method, codes in [
        ((10, 14, 6), DEVICE, PROFILE, TOO_OLD),
        ((10, 15), USER, PROFILE, MET),
        ((10, 15, 7), USER, PROFILE, MET),
        ((11, 0), USER, PROFILE, MET),
        ((13, 0), USER, PROFILE, MET),
        ((13, 6), USER, PROFILE, MET),
        ((14, 0), USER, ACCOUNT, MET),
        ((14, 7), USER, ACCOUNT, MET),
        ((15, 0), USER, ACCOUNT, MET),
        ((26, 0), USER, ACCOUNT, MET),
    ]
]


@pytest.mark.parametrize(
    ("user", "device", "org", "type_", "method", "codes"), CRITERIA + PRECEDENCE + BOUNDARIES
)
def test_decision_table(user, device, org, type_, method, codes):
    decision = decide(*facts(user, device, org))
    assert (decision.type, decision.method, decision.reason_codes) == (type_, method, codes)
    assert tuple(c.code for c in decision.checks) == CHECK_ORDER


@pytest.mark.parametrize(
    ("platform", "version", "methods"),
    [
        (Platform.IOS, (12, 4), ()),
        (Platform.IOS, (13, 0), (PROFILE,)),
        (Platform.IPADOS, (14, 8), (PROFILE,)),
        (Platform.IOS, (15, 0), (ACCOUNT, PROFILE)),
        (Platform.IPADOS, (17, 5), (ACCOUNT, PROFILE)),
        (Platform.IOS, (18,), (ACCOUNT,)),
        (Platform.MACOS, (10, 14), ()),
        (Platform.MACOS, (10, 15), (PROFILE,)),
        (Platform.MACOS, (13, 6), (PROFILE,)),
        (Platform.MACOS, (14, 0), (ACCOUNT, PROFILE)),
        (Platform.MACOS, (15, 0), (ACCOUNT,)),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else str(v),
)
def test_user_enrollment_methods_by_os(platform, version, methods):
    assert user_enrollment_methods(platform, version) == methods


def test_checks_record_the_failure_reason():
    decision = decide(*facts(org={"vpp_token_organization": "Globex"}))
    check = decision.checks[3]
    assert check == Check("apple_business_manager", False, decision.reasons[0])
    assert all(c.passed and c.reason is None for c in decision.checks if c is not check)


def test_decision_is_frozen():
    decision = decide(*facts())
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.type = DEVICE  # type: ignore[misc]


# --- parse_version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17.4", (17, 4)),
        ("10.15.7", (10, 15, 7)),
        (" 18 ", (18,)),
        ("13.0", (13, 0)),
        ("26", (26,)),
    ],
)
def test_parse_version_good(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "17.", ".4", "17..4", "v17", "17.4b", "-1", "17.x", "17 .4", "١٧", "17,4"]
)
def test_parse_version_bad(text):
    with pytest.raises(ValueError, match="invalid OS version") as excinfo:
        parse_version(text)
    assert repr(text) in str(excinfo.value)


def test_parse_version_rejects_non_strings():
    with pytest.raises(ValueError, match="invalid OS version"):
        parse_version(None)  # type: ignore[arg-type]


def test_parsed_version_feeds_decide():
    decision = decide(*facts(device={"os_version": parse_version("13")}))
    assert (decision.type, decision.method) == (USER, PROFILE)


# --- messages ------------------------------------------------------------------------------


def test_other_organization_message_names_both_organizations():
    decision = decide(
        *facts(org={"abm_organization": "Acme Corp", "vpp_token_organization": "Globex"})
    )
    (reason,) = decision.reasons
    for locale in ("en", "fr"):
        text = reason.message(locale)
        assert "Acme Corp" in text and "Globex" in text
    assert "«\u00a0Globex\u00a0»" in reason.message("fr")
    assert "Apps et livres" in reason.message("fr")


def test_os_too_old_message_shows_versions():
    (reason,) = decide(
        *facts(device={"platform": Platform.MACOS, "os_version": (10, 14, 6)})
    ).reasons
    assert reason.param_map == {"platform": "macOS", "version": "10.14.6", "minimum": "10.15"}
    assert reason.message("en") == (
        "macOS 10.14.6 is too old: User Enrollment needs macOS 10.15 or later."
    )
    assert reason.message("fr") == (
        "macOS 10.14.6 est trop ancien\u00a0: l’Inscription des utilisateurs demande "
        "macOS 10.15 ou une version plus récente."
    )


def test_enrollment_types_in_messages_are_translated():
    decision = decide(*facts(user={"setting_type": DEVICE}))
    assert "“Device Enrollment”" in decision.reasons[0].message("en")
    assert "«\u00a0Inscription de l’appareil\u00a0»" in decision.reasons[0].message("fr")
    decision = decide(*facts(user={"setting_type": DEVICE}, device=PREV_USER))
    assert "«\u00a0Inscription des utilisateurs\u00a0»" in decision.reasons[0].message("fr")


@pytest.mark.parametrize("locale", ["fr", "FR", "fr-CA", "fr_FR", " fr-fr "])
def test_french_locales(locale):
    assert Reason.of("supervised").message(locale) == MESSAGES["supervised"][1]


@pytest.mark.parametrize("locale", ["en", "en-GB", "de", "", "frisian", "xx_FR"])
def test_other_locales_get_english(locale):
    assert Reason.of("supervised").message(locale) == MESSAGES["supervised"][0]


def test_unknown_reason_code_falls_back_to_the_code():
    assert Reason.of("something_new").message("fr") == "something_new"


def test_summaries():
    assert decide(*facts()).summary("en") == "User Enrollment, account-driven"
    assert (
        decide(*facts()).summary("fr")
        == "Inscription des utilisateurs, par le compte professionnel"
    )
    device = decide(*facts(device={"supervised": True}))
    assert device.summary() == "Device Enrollment, profile-based"
    assert device.summary("fr") == "Inscription de l’appareil, par profil"
    mam = decide(*facts(device={"mam_applied": True}))
    assert mam.summary("en") == "App management only, no enrollment profile"
    assert mam.summary("fr") == "Gestion des applications uniquement, sans profil d’inscription"


def test_catalogue_is_complete_and_translated():
    codes = {
        "supervised",
        "os_too_old",
        "setting_not_user_enrollment",
        "abm_not_linked",
        "abm_organization_unknown",
        "vpp_token_missing",
        "vpp_token_other_organization",
        "no_managed_apple_id",
        "ldap_without_device_role",
        "channel_ade",
        "channel_configurator",
        "mam_applied",
        "authenticator_only_applies",
        "user_enrollment_beats_authenticator_only",
        "reenrollment_keeps_type",
        "reenrollment_type_unavailable",
        "account_driven_needs_newer_os",
        "all_criteria_met",
    }
    codes |= {f"check:{c}" for c in CHECK_ORDER}
    codes |= {f"type:{t}" for t in EnrollmentType} | {f"method:{m}" for m in Method}
    assert codes <= MESSAGES.keys()
    for code, (en, fr) in MESSAGES.items():
        assert en and fr and en != fr, code
    for check in decide(*facts()).checks:
        assert check.label("en") != check.label("fr")


# --- properties ----------------------------------------------------------------------------

names = (
    st.none() | st.sampled_from(["Acme Corp", " acme corp ", "Globex", ""]) | st.text(max_size=12)
)
users = st.builds(
    UserFacts,
    setting_type=st.sampled_from(EnrollmentType),
    has_managed_apple_id=st.booleans(),
    source=st.sampled_from(["local", "ldap", "entra", " LDAP "]) | st.text(max_size=6),
    has_device_management_role=st.booleans(),
)
versions = st.lists(st.integers(min_value=0, max_value=30), max_size=4).map(tuple)
devices = st.builds(
    DeviceFacts,
    platform=st.sampled_from(Platform),
    os_version=versions,
    supervised=st.booleans(),
    channel=st.sampled_from(Channel),
    mam_applied=st.booleans(),
    authenticator_only_match=st.booleans(),
    previous_enrollment_type=st.none() | st.sampled_from(EnrollmentType),
)
orgs = st.builds(
    OrgFacts, abm_linked=st.booleans(), abm_organization=names, vpp_token_organization=names
)
any_version = st.lists(st.integers(), max_size=6).map(tuple)


@given(users, devices, orgs, st.sampled_from([Channel.ADE, Channel.CONFIGURATOR]))
def test_ade_and_configurator_are_always_device(user, device, org, channel):
    decision = decide(user, dataclasses.replace(device, channel=channel), org)
    assert decision.type == DEVICE
    assert decision.method == (Method.ADE if channel == Channel.ADE else Method.CONFIGURATOR)


@given(users, devices, orgs)
def test_a_failed_criterion_means_not_user(user, device, org):
    decision = decide(user, device, org)
    failed = {c.code for c in decision.checks if not c.passed}
    # Re-enrollment may override the setting (criterion 3) only, never the other five.
    if device.previous_enrollment_type == USER:
        failed.discard("setting_user_enrollment")
    if failed:
        assert decision.type != USER
    if decision.type != USER:
        reasons = set(decision.reasons)
        assert all(c.reason in reasons for c in decision.checks if not c.passed)


@given(users, devices, orgs)
def test_user_enrollment_method_is_one_apple_offers(user, device, org):
    decision = decide(user, device, org)
    if decision.type == USER:
        assert decision.method in user_enrollment_methods(device.platform, device.os_version)
        assert decision.method == user_enrollment_methods(device.platform, device.os_version)[0]


@given(
    users,
    devices,
    orgs,
    st.sampled_from(EnrollmentType),
    st.sampled_from([Channel.WEB, Channel.ACCOUNT]),
)
def test_reenrollment_keeps_the_first_type(user, device, org, previous, channel):
    device = dataclasses.replace(device, previous_enrollment_type=previous, channel=channel)
    decision = decide(user, device, org)
    os_ok = decision.checks[1].passed
    if not os_ok:
        assert decision.type == DEVICE
    elif previous != USER:
        assert decision.type == previous
        assert "reenrollment_keeps_type" in decision.reason_codes
    else:
        allowed = all(c.passed for c in decision.checks if c.code != "setting_user_enrollment")
        assert (decision.type == USER) == allowed
        assert ("reenrollment_keeps_type" in decision.reason_codes) == allowed


@given(users, devices, orgs)
def test_every_reason_has_distinct_english_and_french_messages(user, device, org):
    decision = decide(user, device, org)
    assert decision.reasons
    for reason in decision.reasons:
        en, fr = reason.message("en"), reason.message("fr")
        assert en.strip() and fr.strip() and en != fr
        assert reason.message("de") == en
        assert reason.code in MESSAGES


@given(
    users,
    st.builds(
        DeviceFacts,
        platform=st.sampled_from(Platform),
        os_version=any_version,
        supervised=st.booleans(),
        channel=st.sampled_from(Channel),
        mam_applied=st.booleans(),
        authenticator_only_match=st.booleans(),
        previous_enrollment_type=st.none() | st.sampled_from(EnrollmentType),
    ),
    orgs,
    st.text(max_size=8),
)
def test_decide_never_raises(user, device, org, locale):
    decision = decide(user, device, org)
    assert isinstance(decision, Decision)
    assert tuple(c.code for c in decision.checks) == CHECK_ORDER
    assert decision.summary(locale)
    for reason in decision.reasons:
        assert reason.message(locale)
