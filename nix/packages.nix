# This project's derivations for one system: kits, services, `nix run` app, images, tools.
{ pkgs }:
let
  inherit (pkgs) lib;
  py = import ./python.nix { inherit pkgs; };
  ps = py.python.pkgs;

  # Name, version, description and console scripts come from each package's pyproject.toml.
  servicekitProject = (lib.importTOML ../servicekit/pyproject.toml).project;
  testkitProject = (lib.importTOML ../testkit/pyproject.toml).project;
  backendProject = (lib.importTOML ../backend/pyproject.toml).project;
  frontendProject = (lib.importTOML ../frontend/pyproject.toml).project;

  # The repository's two libraries. Neither runs tests here: their suites run in the `test`
  # check (checks.nix, `make test`), with a database and live servers.
  buildLibrary =
    {
      project,
      src,
      dependencies,
    }:
    ps.buildPythonPackage {
      pname = project.name;
      inherit (project) version;
      inherit src dependencies;
      pyproject = true;
      build-system = [ ps.hatchling ];
      doCheck = false;
      pythonImportsCheck = [ project.name ];
      meta = {
        inherit (project) description;
      };
    };

  # Serving, logs, request ids and metrics, shared by both services (and so in both images).
  servicekit = buildLibrary {
    project = servicekitProject;
    src = ../servicekit;
    dependencies = py.servicekitDeps;
  };

  # Test support (throwaway MySQL, live services, fakes, pytest plugins): a check input of both
  # services, never one of their dependencies.
  testkit = buildLibrary {
    project = testkitProject;
    src = ../testkit;
    dependencies = py.testkitDeps;
  };

  # Tests marked `integration` need MySQL, live servers or a browser: the package build runs the
  # others, and the `test` check of checks.nix runs them all.
  buildService =
    {
      project,
      src,
      dependencies,
    }:
    ps.buildPythonApplication {
      pname = project.name;
      inherit (project) version;
      inherit src;
      dependencies = [ servicekit ] ++ dependencies;
      pyproject = true;
      build-system = [ ps.hatchling ];
      nativeCheckInputs = [
        ps.pytestCheckHook
        testkit
      ]
      ++ py.testDeps;
      # The hook turns this into `-m "not (integration)"`. A list in pytestFlags would not do:
      # without __structuredAttrs it reaches the builder as one string, split again on spaces.
      disabledTestMarks = [ "integration" ];
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
  };

  # scripts/lib/env.sh reads the checkout's .env with `python3 scripts/lib/dotenv-exec`.
  dotenvPython = py.python.withPackages (ps: [ ps.python-dotenv ]);

  traceViewer = import ./trace-viewer.nix { inherit pkgs; };
  stack = import ./stack.nix {
    inherit
      pkgs
      backend
      frontend
      dotenvPython
      traceViewer
      ;
  };

  images = import ./images.nix { inherit pkgs backend frontend; };

  kubernetes = import ./kubernetes.nix { inherit pkgs; };

  # The repository's four packages installed from the checkout named by $USERS_STACK_ROOT (the
  # dev shell and the checks set it), so edits apply at once and live reload works, as with
  # `pip install -e`. The services depend on the editable servicekit: the built one beside it
  # would put a second servicekit into the same environment.
  editable =
    project: dependencies:
    ps.mkPythonEditablePackage {
      pname = project.name;
      inherit (project) version;
      scripts = project.scripts or { };
      inherit dependencies;
      root = "$USERS_STACK_ROOT/${project.name}/src";
    };
  editableServicekit = editable servicekitProject py.servicekitDeps;
  editablePackages = [
    editableServicekit
    (editable testkitProject py.testkitDeps)
    (editable backendProject ([ editableServicekit ] ++ py.backendDeps))
    (editable frontendProject ([ editableServicekit ] ++ py.frontendDeps))
  ];
  devPython = py.python.withPackages (_: editablePackages ++ py.testDeps);
in
{
  inherit pkgs;
  inherit
    servicekit
    testkit
    backend
    frontend
    stack
    ;

  # The flake's packages (the rendered Kubernetes manifests too); the OCI images are built for
  # Linux only.
  packages = {
    inherit backend frontend stack;
    default = stack;
  }
  // kubernetes
  // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux images;

  # Every tool of the Makefile, the test suites and the stack, shared by the dev shell and the
  # checks. The browser test drives Chromium, which nixpkgs builds for Linux only.
  devTools = [
    devPython
    pkgs.mysql84
    pkgs.process-compose
    # The metrics store, vmalert and vmalert-tool (alert rule tests), mysqld_exporter, and the
    # trace collector and viewer (the tracing tests).
    pkgs.victoriametrics
    pkgs.prometheus-mysqld-exporter
    pkgs.opentelemetry-collector-contrib
    traceViewer
    pkgs.ruff
    pkgs.shellcheck
    # Nix lint in `make lint`: anti-patterns and dead code in the .nix files.
    pkgs.statix
    pkgs.deadnix
    pkgs.gnumake
    pkgs.newman
    pkgs.nixfmt
    pkgs.wrk
    pkgs.unixtools.ps
    pkgs.kustomize
  ]
  ++ lib.optionals pkgs.stdenv.hostPlatform.isLinux [
    pkgs.chromium
    pkgs.util-linux # setpriv, for scripts/supervised
    pkgs.bubblewrap # tests/sandbox.py
  ];
}
