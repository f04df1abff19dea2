# Python 3.13 from nixpkgs and the libraries of each service, shared by packages, shell and checks.
{ pkgs }:
let
  python = pkgs.python313;
  ps = python.pkgs;
in
{
  inherit python;

  # Mirrors [project.dependencies] in backend/pyproject.toml.
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
  ];

  # Mirrors [project.dependencies] in frontend/pyproject.toml.
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

  # What the test suites import besides the services themselves.
  testDeps = [
    ps.pytest
    ps.pytest-asyncio
    ps.httpx
    ps.playwright
    ps.pyyaml
  ];
}
