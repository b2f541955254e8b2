"""`flask enrollment explain`: the decision and every reason, in English or French."""

import pytest


@pytest.fixture
def run(seeded):
    runner = seeded.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["enrollment", "explain", *args])

    return run


def test_alice_on_ios_18_gets_account_driven_user_enrollment(run):
    result = run("alice@example.com", "--platform", "ios", "--os", "18.1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "User Enrollment, account-driven"
    assert "Setting: BYOD – User Enrollment (from group “User Enrollment”)" in lines
    assert "All User Enrollment requirements are met" in result.output
    assert result.output.count("✓") == 6 and "✗" not in result.output


def test_bob_gets_device_enrollment_with_the_setting_reason(run):
    result = run("bob@example.com", "--platform", "ios", "--os", "18.1")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Device Enrollment, profile-based"
    assert "Your account is set up for “Device Enrollment”, not User Enrollment." in result.output
    assert "[setting_not_user_enrollment]" in result.output
    assert "Setting: Default (the default setting)" in result.output
    assert "✗ Account set up for User Enrollment" in result.output


def test_french(run):
    result = run("bob@example.com", "--platform", "ios", "--os", "18.1", "--locale", "fr")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Inscription de l’appareil, par profil"
    assert "Votre compte est prévu pour «\u00a0Inscription de l’appareil\u00a0»" in result.output
    assert "Raisons :" not in result.output and "Raisons:" in result.output


def test_every_reason_is_printed_with_supervised_and_channel(run):
    result = run(
        "ALICE@example.com", "--platform", "macos", "--os", "13", "--supervised", "--channel", "ade"
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("Device Enrollment, automated")
    assert "[channel_ade]" in result.output and "[supervised]" in result.output
    assert "✗ Not supervised by a company" in result.output


def test_old_ios_is_device_enrollment_with_the_os_reason(run):
    result = run("alice@example.com", "--platform", "ios", "--os", "12.4")
    assert "iOS 12.4 is too old: User Enrollment needs iOS 13.0 or later." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.com", "--platform", "ios", "--os", "17"], "no account has the e-mail"),
        (["alice@example.com", "--platform", "ios", "--os", "seventeen"], "not an OS version"),
        (["alice@example.com", "--platform", "android", "--os", "14"], "android"),
        (["alice@example.com", "--platform", "ios", "--os", "17", "--channel", "x"], "x"),
        (["alice@example.com", "--os", "17"], "--platform"),
    ],
)
def test_bad_input_is_a_clear_usage_error(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
