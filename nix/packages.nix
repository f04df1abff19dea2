# This project's derivations for one system: services, stack scripts, `nix run` app, images, tools.
{ pkgs }:
let
  inherit (pkgs) lib;
  py = import ./python.nix { inherit pkgs; };
  ps = py.python.pkgs;

  # Name, version, description and console scripts come from each service's pyproject.toml.
  backendProject = (lib.importTOML ../backend/pyproject.toml).project;
  frontendProject = (lib.importTOML ../frontend/pyproject.toml).project;

  # Tests marked `integration` need MySQL, live servers or a browser: the package build runs the
  # others, and the `test` check of checks.nix runs them all.
  buildService =
    {
      project,
      src,
      dependencies,
      checkInputs ? [ ],
    }:
    ps.buildPythonApplication {
      pname = project.name;
      inherit (project) version;
      inherit src dependencies;
      pyproject = true;
      build-system = [ ps.hatchling ];
      nativeCheckInputs = [ ps.pytestCheckHook ] ++ py.testDeps ++ checkInputs;
      pytestFlags = [
        "-m"
        "not integration"
      ];
      pythonImportsCheck = [ project.name ];
      # Some unit tests serve on a free loopback port.
      __darwinAllowLocalNetworking = true;
      meta = {
        inherit (project) description;
        mainProgram = project.name;
      };
    };

  backend = buildService {
    project = backendProject;
    src = ../backend;
    dependencies = py.backendDeps;
  };

  frontend = buildService {
    project = frontendProject;
    src = ../frontend;
    dependencies = py.frontendDeps;
    # The frontend's tests reuse the backend's fixtures (backend.testing).
    checkInputs = [ backend ];
  };

  # scripts/ as they are, for tools that look them up on PATH (mysql-run, mysql-setup, ...).
  stack-scripts = pkgs.stdenvNoCC.mkDerivation {
    pname = "users-stack-scripts";
    inherit (backendProject) version;
    src = ../scripts;
    # patchShebangs points `#!/usr/bin/env bash` at this bash.
    buildInputs = [ pkgs.bash ];
    installPhase = ''
      runHook preInstall
      mkdir -p $out/bin
      # lib/ stays beside the scripts, which source it relative to themselves.
      cp -r . $out/bin/
      runHook postInstall
    '';
  };

  stack = import ./stack.nix {
    inherit
      pkgs
      backend
      frontend
      stack-scripts
      ;
  };

  images = import ./images.nix { inherit pkgs backend frontend; };

  # Both services installed from the checkout named by $USERS_STACK_ROOT (the dev shell and the
  # checks set it), so edits apply at once and live reload works, as with `pip install -e`.
  editable =
    project: dependencies:
    ps.mkPythonEditablePackage {
      pname = project.name;
      inherit (project) version scripts;
      inherit dependencies;
      root = "$USERS_STACK_ROOT/${project.name}/src";
    };
  editableServices = [
    (editable backendProject py.backendDeps)
    (editable frontendProject py.frontendDeps)
  ];
  devPython = py.python.withPackages (_: editableServices ++ py.testDeps);
in
{
  inherit pkgs;
  inherit backend frontend stack;

  # The flake's packages; the OCI images are built for Linux only.
  packages = {
    inherit backend frontend stack;
    default = stack;
  }
  // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux images;

  # Every tool of the Makefile, the test suites and the stack, shared by the dev shell and the
  # checks. The browser test drives Chromium, which nixpkgs builds for Linux only.
  devTools = [
    devPython
    pkgs.mysql84
    pkgs.process-compose
    pkgs.ruff
    pkgs.shellcheck
    pkgs.gnumake
    pkgs.newman
    pkgs.nixfmt
    pkgs.wrk
    pkgs.unixtools.ps
  ]
  ++ lib.optionals pkgs.stdenv.hostPlatform.isLinux [
    pkgs.chromium
    pkgs.util-linux # setpriv, for scripts/supervised
  ];
}
