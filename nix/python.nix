# Python 3.13 from nixpkgs and the libraries of each package, shared by packages, shell and checks.
{ pkgs }:
let
  python = pkgs.python313;
  ps = python.pkgs;
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
    ps.swagger-ui-py
  ];

  # frontend/pyproject.toml, besides servicekit
  frontendDeps = [
    ps.quart
    ps.pydantic
    ps.pydantic-settings
    ps.httpx
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
  # for compose.yaml.
  testDeps = [
    ps.pytest
    ps.pytest-asyncio
    ps.httpx
    ps.schemathesis
    ps.playwright
    ps.pyyaml
  ];
}
