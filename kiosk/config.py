"""Typed, validated settings from `kiosk.toml` plus `KIOSK_<SECTION>_<KEY>` environment overrides.

Every key has a default (documented in the shipped `kiosk.toml`). A bad file or variable gives one
`ConfigError` whose lines each name the source, the key path, the bad value and what was expected:

    kiosk.toml: devices.printer.baudrate: expected an integer, got "fast"

and nothing starts half-configured.
"""
from __future__ import annotations

import json
import os
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.config_errors import describe

STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
ENV_PREFIX = "KIOSK_"
ENV_IGNORED = ("KIOSK_CONFIG", "KIOSK_TEST_", "KIOSK_TOUCH_PROVIDER")  # the config path, test switches,
# and the touch panel for Kivy (screens/boot.py; docs/deploy.md: set in /etc/kiosk/kiosk.env)


class ConfigError(Exception):
    """The configuration cannot be used; str() is the complete, human-readable reason."""


def _parse_vat_rate(value: Any) -> Any:
    """A VAT percentage ("19", "7.5", 19 or 7.5) to integer basis points (1900, 750)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value  # let the int check name the problem
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError('expected a percentage such as "19" or "7.5"') from None
    if not (0 <= rate <= 100) or rate != rate.quantize(Decimal("0.01")):
        raise ValueError("expected a percentage from 0 to 100 with at most 2 decimals")
    return int(rate * 100)


VatRateBasisPoints = Annotated[int, BeforeValidator(_parse_vat_rate)]
Port = Annotated[int, Field(ge=1, le=65535)]
PositiveSeconds = Annotated[int, Field(ge=1, le=86400)]
# Bounded text (issue 14): a 200,000-character shop name must not reach the UI's text layout.
Name = Annotated[str, Field(max_length=80)]
Short = Annotated[str, Field(max_length=64)]  # keys, profiles, code pages
Host = Annotated[str, Field(max_length=253)]
PathText = Annotated[str, Field(max_length=4096)]  # file system paths and device URLs
UrlText = Annotated[str, Field(max_length=2048)]
Secret = Annotated[str, Field(max_length=1024)]


class Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class KioskSection(Section):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = "kiosk-001"
    name: Name = "Self-service"
    mode: Literal["checkout", "checkin", "both"] = "both"
    data_dir: Annotated[str, Field(min_length=1, max_length=4096)] = "var"
    # a stop (SIGTERM) that takes longer leaves every thread's stack in the log and ends the process;
    # keep it below the service's TimeoutStopSec (30 s in deploy/files/kiosk.service)
    stop_timeout_s: Annotated[int, Field(ge=5, le=600)] = 25


class LocaleSection(Section):
    languages: Annotated[list[Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]], Field(min_length=1)] = [
        "en", "de", "nl"]
    default_language: Short = "en"

    @model_validator(mode="after")
    def _default_is_offered(self) -> "LocaleSection":
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {json.dumps(self.default_language)} is not in languages {self.languages}")
        return self


class MoneySection(Section):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    vat_rates: dict[Short, VatRateBasisPoints] = {"A": 1900, "B": 700, "C": 0}
    default_vat: Short = "A"

    @model_validator(mode="after")
    def _default_rate_exists(self) -> "MoneySection":
        if self.default_vat not in self.vat_rates:
            raise ValueError(f"default_vat {json.dumps(self.default_vat)} is not a key of vat_rates")
        return self


class CatalogSection(Section):
    # EAN-13 prefixes whose codes carry a price: 2P IIIII VVVVV C (item reference, price in minor units).
    price_embedded_prefixes: list[Annotated[str, Field(pattern=r"^2[0-9]$")]] = [
        "20", "21", "22", "23", "24", "25", "26", "27", "28", "29"]


class CheckinSection(Section):
    early_minutes: Annotated[int, Field(ge=0, le=1440)] = 60  # how long before its slot a booking may check in
    late_minutes: Annotated[int, Field(ge=0, le=1440)] = 30  # and how long after the slot started


class UISection(Section):
    fullscreen: bool = True
    idle_timeout_s: PositiveSeconds = 60
    still_there_countdown_s: PositiveSeconds = 20
    large_text: bool = False
    low_reach: bool = False  # start with every customer control in the lower part of the screen
    # the longest a customer waits for each of these before being told what happens next (help is called)
    payment_timeout_s: PositiveSeconds = 180
    cancelling_timeout_s: PositiveSeconds = 30
    in_doubt_timeout_s: PositiveSeconds = 60
    age_check_timeout_s: PositiveSeconds = 120
    printing_timeout_s: PositiveSeconds = 30

    @property
    def waits(self) -> dict[str, int]:
        """Seconds per waiting state, as `kiosk.flows.session.Session` uses them."""
        return {name: getattr(self, f"{name}_timeout_s") for name in WAITS}


WAITS = ("payment", "cancelling", "in_doubt", "age_check", "printing")


KeyNames = Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9_]{1,24}$")]], Field(max_length=8)]


class KeysSettings(Section):
    """Keypad key -> what it does in the accessible mode; names are Kivy's key names (`down`, `enter`,
    `numpadadd`, `f1`, ...). A key may be listed once only (checked when the app builds the map)."""
    next: KeyNames = ["down", "right", "tab"]
    previous: KeyNames = ["up", "left"]
    activate: KeyNames = ["enter", "numpadenter"]
    back: KeyNames = ["escape"]
    help: KeyNames = ["f1"]
    repeat: KeyNames = ["f2"]
    cart: KeyNames = ["f3"]
    volume_up: KeyNames = ["numpadadd", "f6"]
    volume_down: KeyNames = ["numpadsubstract", "f5"]
    rate_up: KeyNames = ["numpadmul", "f8"]
    rate_down: KeyNames = ["numpaddivide", "f7"]
    accessible_mode: KeyNames = ["f12"]


class AccessibilitySection(Section):
    idle_factor: Annotated[int, Field(ge=1, le=10)] = 3  # "still there?" timeouts × this in the accessible mode
    keys: KeysSettings = KeysSettings()


class SpeechSection(Section):
    engine: Literal["espeak-ng", "command", "none"] = "espeak-ng"
    voices: dict[Short, Short] = {"en": "en-gb", "de": "de", "nl": "nl"}  # language -> voice (or model)
    rate: Annotated[int, Field(ge=80, le=450)] = 170  # words per minute
    volume: Annotated[int, Field(ge=0, le=200)] = 100  # espeak-ng's amplitude scale
    volume_step: Annotated[int, Field(ge=1, le=100)] = 20
    rate_step: Annotated[int, Field(ge=1, le=100)] = 20
    player: PathText = "aplay -q"  # plays the WAV stream on its stdin; "" = no sound (tests)
    command: PathText = ""  # engine "command": reads the text on stdin, writes a WAV on stdout; {voice} is replaced
    phrase_log: PathText = ""  # append every phrase spoken here (JSON lines), e.g. for tests
    wav_dir: PathText = ""  # write every phrase spoken here as a WAV file

    @model_validator(mode="after")
    def _command_given(self) -> "SpeechSection":
        if self.engine == "command" and not self.command.strip():
            raise ValueError('engine "command" needs command, e.g. "piper --model /opt/piper/{voice}.onnx '
                             '--output_file -"')
        return self


class SerialSettings(Section):
    url: PathText = ""  # /dev/ttyACM0, socket://127.0.0.1:9200, rfc2217://host:port
    baudrate: int = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1

    @field_validator("baudrate")
    @classmethod
    def _standard_baudrate(cls, value: int) -> int:
        if value not in STANDARD_BAUDRATES:
            raise ValueError(f"expected one of {', '.join(map(str, STANDARD_BAUDRATES))}")
        return value


class ScannerSettings(SerialSettings):
    enabled: bool = True
    driver: Literal["simulator", "serial", "hid"] = "simulator"
    suffix: Literal["CR", "LF", "CRLF", "TAB", "ETX"] = "CR"  # multi-line QR codes need ETX (or TAB)
    aim_ids: bool = True  # the scanner prefixes each code with its AIM symbology identifier (]E0, ]Q1...)
    hid_device: PathText = ""  # /dev/input/by-id/...-event-kbd for a keyboard-wedge scanner


class CameraSettings(Section):
    enabled: bool = False
    driver: Literal["simulator", "opencv"] = "simulator"
    index: Annotated[int, Field(ge=0, le=63)] = 0
    decoder: Literal["zxing+zbar", "zxing", "pyzbar"] = "zxing+zbar"  # zxing+zbar: zbar on frames zxing misses
    confirm_linear: Annotated[int, Field(ge=1, le=5)] = 2  # a linear code counts once read in this many frames
    width: Annotated[int, Field(ge=160, le=3840)] = 1280
    height: Annotated[int, Field(ge=120, le=2160)] = 720
    dedupe_s: Annotated[float, Field(ge=0, le=60)] = 1.0  # a code out of view this long counts as new again
    no_frame_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0  # no frames this long = camera lost
    fps: Annotated[int, Field(ge=1, le=120)] = 30  # driver "simulator": frames per second
    simulator_folder: PathText = ""  # driver "simulator": play these images/videos instead of rendered codes


class PrinterSettings(SerialSettings):
    enabled: bool = True
    driver: Literal["simulator", "network", "serial", "usb", "file"] = "simulator"
    host: Host = "127.0.0.1"
    port: Port = 9100
    baudrate: int = 19200
    usb_vendor_id: Annotated[int, Field(ge=0, le=0xFFFF)] = 0
    usb_product_id: Annotated[int, Field(ge=0, le=0xFFFF)] = 0
    profile: Short = "default"
    columns: Annotated[int, Field(ge=24, le=80)] = 42
    code_page: Short = "auto"  # "auto": the first of CP858, CP1252, ISO_8859-15 the profile has (for €, ä, ß)
    status_timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0  # wait this long for a DLE EOT reply
    status_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0  # poll the status this often when idle
    simulator_out_dir: PathText = ""  # driver "simulator": write each receipt here as .txt and .png


class PaymentSettings(SerialSettings):
    enabled: bool = True
    driver: Literal["simulator", "zvt-tcp", "zvt-serial"] = "simulator"
    host: Host = "127.0.0.1"
    port: Port = 20007
    password: Annotated[str, Field(pattern=r"^[0-9]{6}$")] = "000000"
    stopbits: Literal[1, 2] = 2  # ZVT over serial is 8N2 (url = /dev/ttyUSB0 for driver "zvt-serial")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"  # must match money.currency
    answer_timeout_s: PositiveSeconds = 15  # T2: the terminal's first answer to a command
    payment_timeout_s: PositiveSeconds = 180  # T4: longest silence during a payment (PIN entry, host)
    end_of_day_at: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$")] = ""  # daily "HH:MM", "" = off
    simulator_pin_delay_ms: Annotated[int, Field(ge=0, le=60000)] = 1500
    simulator_state_file: PathText = ""  # simulator: its ledger survives restarts here ("" = <data_dir>/terminal-simulator.json)


class DevicesSection(Section):
    scanner: ScannerSettings = ScannerSettings()
    camera: CameraSettings = CameraSettings()
    printer: PrinterSettings = PrinterSettings()
    payment: PaymentSettings = PaymentSettings()


class ServerSection(Section):
    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://[^\s/]+(/\S*)?$")] = "http://127.0.0.1:8765"
    # where customers open their receipt (QR code, printed receipt): <public_receipt_url>/r/<token>; "" = url
    public_receipt_url: Annotated[str, Field(max_length=2048, pattern=r"^(https?://[^\s/]+(/\S*)?)?$")] = ""
    token: Secret = ""
    start_local: bool = True  # `kiosk --simulate` starts a local central server at url
    sync_interval_s: PositiveSeconds = 5
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100
    timeout_s: PositiveSeconds = 10


class LiveSection(Section):
    """The live channel to the attendant station (issue 15): state up, attendants' commands down."""
    enabled: bool = True  # false: no live state, no remote commands (local help and PIN approval as ever)
    debounce_s: Annotated[float, Field(ge=0.05, le=10)] = 0.25  # at most one state per this long (newest wins)
    reconnect_max_s: Annotated[float, Field(ge=1, le=600)] = 30  # the longest wait between reconnects


class MaintenanceSection(Section):
    """The technician screen (issue 7): how it is reached and what it may change."""
    technicians_file: PathText = ""  # "" = <data_dir>/technicians.json (ids, roles, scrypt-hashed PINs)
    gesture: Literal["logo_taps", "none"] = "logo_taps"  # 5 taps on the shop logo within 3 s, then the PIN pad
    usb_export_dir: PathText = "/media/usb"  # where "export unsent queue" writes (the mounted USB stick)
    editable_keys: list[Annotated[str, Field(max_length=128)]] = [
        "kiosk.name", "ui.idle_timeout_s", "ui.still_there_countdown_s", "ui.large_text",
        "devices.printer.host", "devices.printer.port", "devices.payment.host", "devices.payment.port",
        "devices.payment.end_of_day_at", "server.url", "server.sync_interval_s"]

    @field_validator("editable_keys")
    @classmethod
    def _known_keys(cls, keys: list[str]) -> list[str]:
        known = {".".join(path) for path in leaf_paths()}
        unknown = [key for key in keys if key not in known or key.startswith("maintenance.")]
        if unknown:
            raise ValueError(f"not an editable setting: {', '.join(unknown)}")
        return keys


class Settings(Section):
    kiosk: KioskSection = KioskSection()
    locale: LocaleSection = LocaleSection()
    money: MoneySection = MoneySection()
    catalog: CatalogSection = CatalogSection()
    checkin: CheckinSection = CheckinSection()
    ui: UISection = UISection()
    accessibility: AccessibilitySection = AccessibilitySection()
    speech: SpeechSection = SpeechSection()
    devices: DevicesSection = DevicesSection()
    server: ServerSection = ServerSection()
    live: LiveSection = LiveSection()
    maintenance: MaintenanceSection = MaintenanceSection()

    @model_validator(mode="after")
    def _one_currency(self) -> "Settings":
        if self.devices.payment.currency != self.money.currency:
            raise ValueError(f"devices.payment.currency {json.dumps(self.devices.payment.currency)} differs from "
                             f"money.currency {json.dumps(self.money.currency)}: the terminal must charge in the "
                             "shop's currency")
        return self

    @property
    def data_path(self) -> Path:
        return Path(self.kiosk.data_dir)


# ---------------------------------------------------------------------------------------------
# Loading

def load(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `path` (default: $KIOSK_CONFIG or ./kiosk.toml; missing default file = all defaults)."""
    environ = os.environ if environ is None else environ
    explicit = path is not None or "KIOSK_CONFIG" in environ
    path = Path(path if path is not None else environ.get("KIOSK_CONFIG", "kiosk.toml"))
    data: dict[str, Any] = {}
    if path.exists() or explicit:
        data = _read_toml(path)
    sources = {tuple(): str(path)}  # key path -> where its value came from, for error messages
    for name, keys, value in _env_overrides(environ):
        _set_path(data, keys, value)
        sources[keys] = f"{name} (environment)"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(describe(error, sources) for error in exc.errors())) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text") from None


def leaf_paths(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every settable key path, e.g. ("devices", "printer", "baudrate")."""
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            paths += leaf_paths(sub, prefix + (name,))
        else:
            paths.append(prefix + (name,))
    return paths


def env_name(keys: tuple[str, ...]) -> str:
    return ENV_PREFIX + "_".join(keys).upper()


def _env_overrides(environ: Mapping[str, str]):
    known = {env_name(keys): keys for keys in leaf_paths()}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_IGNORED):
            continue
        if name not in known:
            raise ConfigError(f"{name} (environment): not a setting; expected one of KIOSK_<SECTION>_<KEY>, "
                              f"such as {env_name(('devices', 'printer', 'host'))}")
        yield name, known[name], _env_value(environ[name])


def _env_value(text: str) -> Any:
    """TOML syntax when it parses (42, true, ["en", "de"]), otherwise the plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        node = data.get(key)
        if not isinstance(node, dict):
            node = data[key] = {}
        data = node
    data[keys[-1]] = value
