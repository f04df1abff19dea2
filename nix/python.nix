# Python 3.13 from nixpkgs and the libraries of each package, shared by packages, shell and checks.
{ pkgs }:
let
  python = pkgs.python313;
  ps = python.pkgs;

  # Swagger UI 5 (renders OpenAPI 3.1) for /docs: the nixpkgs copies read hold swagger-ui-py
  # 22.07.13 (Swagger UI 4) only. PyPI has 25.7.1 as a wheel only; the hash is that file's.
  swagger-ui-py = ps.buildPythonPackage rec {
    pname = "swagger-ui-py";
    version = "25.7.1";
    format = "wheel";
    src = pkgs.fetchPypi {
      pname = "swagger_ui_py";
      inherit version format;
      dist = "py3";
      python = "py3";
      hash = "sha256-OmsUlS1XFL385m195AXoDL6eMR167U72wZDgBtHbtUU=";
    };
    dependencies = [
      ps.jinja2
      ps.packaging
      ps.pyyaml
    ];
    pythonImportsCheck = [ "swagger_ui" ];
  };
in
{
  inherit python;

  # Each list mirrors [project.dependencies] of the package's pyproject.toml, less the packages
  # of this repository (servicekit), which nix/packages.nix builds from the checkout and adds.
  # tests/test_nix_eval.py compares the lists with the pyproject.toml files.

  # servicekit/pyproject.toml
  servicekitDeps = [
    ps.quart
    ps.pydantic
    ps.pydantic-settings
    ps.hypercorn
    ps.uvloop
    ps.prometheus-client
    ps.opentelemetry-api
    ps.opentelemetry-sdk
    ps.opentelemetry-exporter-otlp-proto-http
  ];

  # backend/pyproject.toml, besides servicekit
  backendDeps = [
    ps.quart
    ps.quart-schema
    ps.pydantic
    ps.pydantic-settings
    ps.email-validator
    ps.databases
    ps.aiomysql
    ps.pymysql
    ps.cryptography
    ps.hypercorn
    ps.uvloop
    ps.prometheus-client
    swagger-ui-py
  ];

  # frontend/pyproject.toml, besides servicekit
  frontendDeps = [
    ps.quart
    ps.pydantic
    ps.pydantic-settings
    ps.httpx
    ps.opentelemetry-instrumentation-httpx
    ps.sniffio
    ps.hypercorn
    ps.uvloop
    ps.prometheus-client
  ];

  # testkit/pyproject.toml: test support, never a runtime dependency
  testkitDeps = [
    ps.pytest
    ps.pymysql
    ps.httpx
  ];

  # What the test suites import besides the packages of this repository: the backend's `test`
  # extra (pytest, pytest-asyncio, httpx, schemathesis), Playwright for the browser tests, PyYAML
  # for compose.yaml, kubernetes-validate for deploy/kubernetes.
  testDeps = [
    ps.pytest
    ps.pytest-asyncio
    ps.httpx
    ps.schemathesis
    ps.playwright
    ps.pyyaml
    ps.kubernetes-validate
  ];
}
