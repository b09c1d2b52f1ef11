"""The image recipe (deploy/Dockerfile, deploy/docker-compose.yaml, deploy/workspace_docker.yaml),
checked by parsing: no image can be built on these machines. What can be checked here is: the
image installs the wheel and nothing of the checkout, the services are the ones of Dagster's
Docker deployment (code location, webserver, daemon, PostgreSQL), they agree with each other and
with deploy/dagster.yaml, and every command-line option they use exists in the pinned tools."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from itertools import takewhile
from pathlib import Path

import pytest
import yaml

from observatory.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent


def dockerfile_instructions(path: Path = DEPLOY / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    assert not pending, "the Dockerfile ends on a continuation line"
    return instructions


def docker_args(path: Path = DEPLOY / "Dockerfile") -> dict[str, str]:
    """ARG defaults and ENV values, to expand ${NAME} in the other instructions."""
    values: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions(path):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            values[name] = default
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                values[name] = value
    return values


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], text)


def wheel_name() -> str:
    """The wheel file the Dockerfile copies in, with its ARG default."""
    values = docker_args()
    copies = [r for k, r in dockerfile_instructions() if k == "COPY" and ".whl" in r]
    assert len(copies) == 1, copies
    return Path(expand(copies[0].split()[0], values)).name


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text(encoding="utf-8"))


def test_image_installs_the_wheel_and_nothing_of_the_checkout() -> None:
    instructions = dockerfile_instructions()
    values = docker_args()
    assert instructions[0][0] == "FROM"
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # the base image's Python is the one the package requires (>=3.11,<3.12)
    assert instructions[0][1] == "python:3.11-slim"
    assert "<3.12" in project["project"]["requires-python"]
    version = project["project"]["version"]
    assert wheel_name() == f"observatory-{version}-py3-none-any.whl"
    runs = [expand(r, values) for k, r in instructions if k == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1 and f"/tmp/wheels/{wheel_name()}" in installs[0]
    assert " -e " not in installs[0] and "--editable" not in installs[0]
    # only the wheel and the instance files come from the build context: code, SQL models,
    # schemas and the snapshot reach the image through the wheel
    sources = [r.split()[0] for k, r in instructions if k == "COPY"]
    assert sources == [
        "dist/observatory-${OBSERVATORY_VERSION}-py3-none-any.whl",
        "deploy/dagster.yaml",
        "deploy/workspace_docker.yaml",
    ]
    for source in sources[1:]:
        assert (PROJECT_ROOT / source).is_file()
    dagster_home = values["DAGSTER_HOME"]
    copied = {expand(r.split()[1], values) for k, r in instructions if k == "COPY"}
    assert {f"{dagster_home}/dagster.yaml", f"{dagster_home}/workspace.yaml"} <= copied
    user = [r for k, r in instructions if k == "USER"]
    assert user and user[-1] not in {"root", "0"}
    assert values["OBSERVATORY_DATA_DIR"] in next(r for k, r in instructions if k == "VOLUME")
    # the default command is the code location's, as the compose file runs it
    cmd = json.loads(next(r for k, r in reversed(instructions) if k == "CMD"))
    assert cmd == compose()["services"]["observatory_code"]["command"]
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "dist" not in ignored and {".venv", "data", ".git"} <= set(ignored)


def test_services_are_those_of_a_dagster_deployment_and_agree() -> None:
    services = compose()["services"]
    assert {"postgresql", "observatory_code", "webserver", "daemon"} <= set(services)
    code, webserver, daemon = (services[n] for n in ("observatory_code", "webserver", "daemon"))
    for service in (code, webserver, daemon):
        assert service["image"] == f"observatory:{wheel_name().split('-')[1]}"
    # the webserver and the daemon load the code location from the code server, by gRPC
    workspace = yaml.safe_load((DEPLOY / "workspace_docker.yaml").read_text(encoding="utf-8"))
    (location,) = workspace["load_from"]
    grpc = location["grpc_server"]
    command = code["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    assert grpc["host"] == "observatory_code"
    assert str(grpc["port"]) == command[command.index("-p") + 1]
    assert grpc["location_name"] == command[command.index("--location-name") + 1]
    assert command[command.index("-m") + 1] == "observatory.definitions"
    home = docker_args()["DAGSTER_HOME"]
    assert webserver["command"][0] == "dagster-webserver"
    assert daemon["command"][:2] == ["dagster-daemon", "run"]
    for service in (webserver, daemon):
        assert service["command"][service["command"].index("-w") + 1] == f"{home}/workspace.yaml"
    # every variable deploy/dagster.yaml reads is set for the three Dagster services, and the
    # PostgreSQL service is the one they connect to
    instance = (DEPLOY / "dagster.yaml").read_text(encoding="utf-8")
    needed = set(re.findall(r"env: (DAGSTER_PG_\w+)", instance))
    assert len(needed) == 5
    for service in (code, webserver, daemon):
        assert needed <= set(service["environment"]), service
        assert service["environment"]["DAGSTER_PG_HOST"] == "postgresql"
        assert service["depends_on"]["postgresql"]["condition"] == "service_healthy"
    # runs are launched in the code server's container: it holds the data volume
    data_dir = docker_args()["OBSERVATORY_DATA_DIR"]
    assert any(v.endswith(f":{data_dir}") for v in code["volumes"])
    assert code["environment"]["OBSERVATORY_DATA_DIR"] == data_dir
    # the UI and the HTTP API are published on the host's loopback only
    assert all(p.startswith("127.0.0.1:") for p in webserver["ports"])
    serve = services["serve"]
    assert serve["command"][:2] == ["observatory", "serve"]
    assert all(p.startswith("127.0.0.1:") for p in serve["ports"])
    assert any(v.endswith(f":{data_dir}") for v in serve["volumes"])
    # no secret in the file: the password comes from the environment
    assert "${DAGSTER_PG_PASSWORD" in code["environment"]["DAGSTER_PG_PASSWORD"]


def _commands() -> list[list[str]]:
    services = compose()["services"]
    lines = [s["command"] for s in services.values() if "command" in s]
    lines += [
        s["healthcheck"]["test"][1:]
        for s in services.values()
        if s.get("healthcheck", {}).get("test", [""])[0] == "CMD"
    ]
    return [
        line
        for line in lines
        if line[0] in {"dagster", "dagster-webserver", "dagster-daemon", "observatory"}
    ]


@pytest.mark.parametrize("line", _commands(), ids=lambda line: " ".join(line[:3]))
def test_every_option_used_exists_in_the_pinned_tools(line: list[str]) -> None:
    subcommand = list(takewhile(lambda word: not word.startswith("-"), line))
    done = subprocess.run(
        [str(BIN / subcommand[0]), *subcommand[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for option in (w for w in line if w.startswith("-")):
        assert re.search(rf"(^|[\s,]){re.escape(option)}[\s,=]", done.stdout), (option, line)
