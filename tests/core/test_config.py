"""kiosk.toml loading: the shipped file is valid, overrides work, and bad input says exactly what is wrong."""
from pathlib import Path

import pytest

from kiosk import config

ROOT = Path(__file__).resolve().parents[2]


def load_text(tmp_path, text, environ=None):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, environ=environ or {}), path


def error_of(tmp_path, text, environ=None):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    with pytest.raises(config.ConfigError) as info:
        config.load(path, environ=environ or {})
    return str(info.value).replace(str(path), "kiosk.toml")


def test_shipped_file_is_valid_and_matches_the_defaults():
    shipped = config.load(ROOT / "kiosk.toml", environ={})
    assert shipped == config.Settings()


def test_shipped_file_documents_every_key():
    import tomllib
    data = tomllib.loads((ROOT / "kiosk.toml").read_text(encoding="utf-8"))
    missing = []
    for keys in config.leaf_paths():
        node = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            missing.append(".".join(keys))
    assert not missing, f"kiosk.toml does not document {missing}"


def test_empty_file_gives_defaults(tmp_path):
    settings, _ = load_text(tmp_path, "")
    assert settings.kiosk.mode == "both"
    assert settings.money.vat_rates == {"A": 1900, "B": 700, "C": 0}


def test_values_are_typed(tmp_path):
    settings, _ = load_text(tmp_path, """
        [money]
        vat_rates = { S = "21", R = 9, L = "5.5" }
        default_vat = "S"
        [devices.printer]
        baudrate = 115200
    """)
    assert settings.money.vat_rates == {"S": 2100, "R": 900, "L": 550}
    assert settings.devices.printer.baudrate == 115200


def test_environment_overrides_the_file(tmp_path):
    settings, _ = load_text(tmp_path, '[kiosk]\nmode = "checkout"\n', environ={
        "KIOSK_KIOSK_MODE": "checkin", "KIOSK_DEVICES_PRINTER_PORT": "9101",
        "KIOSK_LOCALE_LANGUAGES": '["de", "en"]', "KIOSK_SERVER_URL": "https://central.example:8443/",
        "KIOSK_CONFIG": "ignored-here", "KIOSK_TEST_ANYTHING": "ignored"})
    assert settings.kiosk.mode == "checkin"
    assert settings.devices.printer.port == 9101
    assert settings.locale.languages == ["de", "en"]
    assert settings.server.url == "https://central.example:8443/"


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "other.toml"
    path.write_text('[kiosk]\nid = "lobby-2"\n')
    assert config.load(environ={"KIOSK_CONFIG": str(path)}).kiosk.id == "lobby-2"


BAD_FILES = [
    ('[devices.printer]\nbaudrate = "fast"\n',
     'kiosk.toml: devices.printer.baudrate: expected an integer, got "fast"'),
    ('[devices.printer]\nbaudrate = 12345\n',
     "kiosk.toml: devices.printer.baudrate: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, "
     "115200, 230400, got 12345"),
    ('[server]\npublic_receipt_url = "receipts.example.com"\n',
     'kiosk.toml: server.public_receipt_url: expected an http:// or https:// URL, or "" for the server url, '
     'got "receipts.example.com"'),
    ('[kiosk]\nmode = "shop"\n',
     'kiosk.toml: kiosk.mode: expected one of "checkout", "checkin" or "both", got "shop"'),
    ('[kiosk]\nid = "lobby 1!"\n',
     "kiosk.toml: kiosk.id: expected 1 to 64 letters, digits, '.', '_' or '-', got \"lobby 1!\""),
    ('[money]\ncurrency = "euro"\n',
     'kiosk.toml: money.currency: expected a three-letter ISO 4217 code such as "EUR", got "euro"'),
    ('[money]\nvat_rates = { A = "nineteen" }\n',
     'kiosk.toml: money.vat_rates.A: expected a percentage such as "19" or "7.5", got "nineteen"'),
    ('[money]\nvat_rates = { A = 7.555 }\n',
     "kiosk.toml: money.vat_rates.A: expected a percentage from 0 to 100 with at most 2 decimals, got 7.555"),
    ('[money]\ndefault_vat = "Z"\n',
     'kiosk.toml: money: default_vat "Z" is not a key of vat_rates'),
    ('[locale]\nlanguages = ["en", "de"]\ndefault_language = "fr"\n',
     'kiosk.toml: locale: default_language "fr" is not in languages [\'en\', \'de\']'),
    ('[locale]\nlanguages = []\n',
     "kiosk.toml: locale.languages: expected at least 1 entries, got []"),
    ('[ui]\nidle_timeout_s = 0\n',
     "kiosk.toml: ui.idle_timeout_s: expected a number ≥ 1, got 0"),
    ('[ui]\nfullscreen = "yes"\n',
     'kiosk.toml: ui.fullscreen: expected true or false, got "yes"'),
    ('[ui]\nidle_timeout = 60\n',
     "kiosk.toml: ui.idle_timeout: unknown key, got 60"),
    ('[devices.payment]\nport = 70000\n',
     "kiosk.toml: devices.payment.port: expected a number ≤ 65535, got 70000"),
    ('[devices.payment]\npassword = "12"\n',
     'kiosk.toml: devices.payment.password: expected 6 digits, got "12"'),
    ('[server]\nurl = "ftp://central"\n',
     'kiosk.toml: server.url: expected an http:// or https:// URL, got "ftp://central"'),
    ('[money]\ncurrency = "USD"\n',
     'kiosk.toml: devices.payment.currency "EUR" differs from money.currency "USD": the terminal '
     "must charge in the shop's currency"),
    ('devices = 3\n',
     "kiosk.toml: devices: expected a table, got 3"),
    ('[kiosk\nid = "x"\n',
     "kiosk.toml: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 7)"),
    ('[kiosk]\nid = "a"\nid = "b"\n',
     "kiosk.toml: not valid TOML: Cannot overwrite a value (at line 3, column 9)"),
    (b'[kiosk]\nname = "\xff"\n',
     "kiosk.toml: not valid TOML: the file is not UTF-8 text"),
]


@pytest.mark.parametrize("text, message", BAD_FILES, ids=[m.split(": ")[1] + f"-{i}" for i, (_, m) in enumerate(BAD_FILES)])
def test_bad_file_gives_one_exact_message(tmp_path, text, message):
    assert error_of(tmp_path, text) == message


def test_every_problem_is_reported_at_once(tmp_path):
    message = error_of(tmp_path, '[kiosk]\nmode = "x"\n[devices.printer]\nbaudrate = "fast"\n')
    assert message.splitlines() == [
        'kiosk.toml: kiosk.mode: expected one of "checkout", "checkin" or "both", got "x"',
        'kiosk.toml: devices.printer.baudrate: expected an integer, got "fast"',
    ]


def test_bad_environment_value_names_the_variable(tmp_path):
    message = error_of(tmp_path, "", environ={"KIOSK_DEVICES_PRINTER_BAUDRATE": "fast"})
    assert message == ('KIOSK_DEVICES_PRINTER_BAUDRATE (environment): devices.printer.baudrate: '
                       'expected an integer, got "fast"')


def test_unknown_environment_variable_is_refused(tmp_path):
    message = error_of(tmp_path, "", environ={"KIOSK_PRINTER_BAUD": "9600"})
    assert message.startswith("KIOSK_PRINTER_BAUD (environment): not a setting")


def test_missing_explicit_file(tmp_path):
    with pytest.raises(config.ConfigError, match="file not found"):
        config.load(tmp_path / "nope.toml", environ={})


def test_settings_are_frozen():
    settings = config.Settings()
    with pytest.raises(Exception):
        settings.kiosk.mode = "checkin"


# issue 14: long input
def test_overlong_shop_name_is_refused_quickly(tmp_path):
    import time
    started = time.monotonic()
    message = error_of(tmp_path, '[kiosk]\nname = "' + "x" * 200_000 + '"\n')
    elapsed = time.monotonic() - started
    print(f"200,000-character name refused in {elapsed * 1000:.1f} ms")
    assert message == "kiosk.toml: kiosk.name: at most 80 characters, got 200000"
    assert elapsed < 10


def test_empty_data_dir_is_refused(tmp_path):
    assert error_of(tmp_path, '[kiosk]\ndata_dir = ""\n') == 'kiosk.toml: kiosk.data_dir: must not be empty, got ""'


@pytest.mark.parametrize("section, key, limit", [
    ("kiosk", "data_dir", 4096), ("devices.scanner", "url", 4096), ("devices.printer", "host", 253),
    ("server", "url", 2048), ("server", "token", 1024), ("maintenance", "usb_export_dir", 4096)])
def test_every_text_setting_is_bounded(tmp_path, section, key, limit):
    value = "http://h/" + "x" * limit if key == "url" and section == "server" else "x" * (limit + 1)
    message = error_of(tmp_path, f'[{section}]\n{key} = "{value}"\n')
    assert message == f"kiosk.toml: {section}.{key}: at most {limit} characters, got {len(value)}"


def test_no_unbounded_text_setting():
    from annotated_types import MaxLen

    def walk(model, prefix=()):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, config.BaseModel):
                yield from walk(annotation, prefix + (name,))
            elif annotation is str:
                yield ".".join(prefix + (name,)), field
    unbounded = [path for path, field in walk(config.Settings)
                 if not any(isinstance(m, MaxLen) or getattr(m, "pattern", None) for m in field.metadata)]
    assert unbounded == []


def test_the_touch_panel_variable_of_kiosk_env_is_not_taken_for_a_setting(tmp_path):
    """docs/deploy.md puts KIOSK_TOUCH_PROVIDER in /etc/kiosk/kiosk.env for Kivy (screens/boot.py): the kiosk must
    still start with it set."""
    settings, _ = load_text(tmp_path, "", environ={"KIOSK_TOUCH_PROVIDER": "probesysfs,provider=mtdev,match=ILITEK"})
    assert settings.locale.languages
