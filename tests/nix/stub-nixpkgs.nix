# A stand-in for the nixpkgs flake input, for tests/test_nix_eval.py: no builds, no store.
# Every builder returns a stub derivation that keeps its arguments (`stubArgs`), so a test can
# read what our Nix files pass to nixpkgs. Only the attributes our files use exist: a new one
# fails the evaluation until it is added here (and looked up in nixpkgs, see nix/README.md).
let
  systems = [
    "x86_64-linux"
    "aarch64-linux"
    "x86_64-darwin"
    "aarch64-darwin"
  ];

  # The few lib functions our files call, as nixpkgs' lib/ defines them (getExe stricter: it
  # needs meta.mainProgram instead of guessing with a warning).
  lib = {
    importTOML = path: builtins.fromTOML (builtins.readFile path);
    optionalAttrs = cond: attrs: if cond then attrs else { };
    optionals = cond: list: if cond then list else [ ];
    genAttrs =
      names: f:
      builtins.listToAttrs (
        map (name: {
          inherit name;
          value = f name;
        }) names
      );
    mapAttrs = builtins.mapAttrs;
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram}";
  };

  # A derivation that records who made it and with what. `outPath` lets it stand in strings
  # ("${pkgs.cacert}/etc/...") and in lists joined for the builder, as a real one does.
  stub =
    function: name: args:
    {
      __stub = true;
      stubFunction = function;
      stubName = name;
      stubArgs = args;
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      meta = args.meta or { };
    };

  # A package taken as it is from nixpkgs.
  package =
    prefix: name:
    stub "nixpkgs" "${prefix}${name}" { }
    // {
      pname = name;
    };

  pkgsFor =
    system:
    let
      isLinux = builtins.match ".*-linux" system != null;
      linuxOnly =
        name: if isLinux then package "" name else throw "${name} is built for Linux only";

      pythonPackageNames = [
        "hatchling"
        "pytestCheckHook"
        "quart"
        "quart-schema"
        "pydantic"
        "pydantic-settings"
        "email-validator"
        "databases"
        "aiomysql"
        "pymysql"
        "cryptography"
        "hypercorn"
        "uvloop"
        "prometheus-client"
        "httpx"
        "sniffio"
        "pytest"
        "pytest-asyncio"
        "playwright"
        "pyyaml"
        "python-dotenv"
        "swagger-ui-py"
        "schemathesis"
      ];

      pythonBuilder =
        function: args:
        stub function "python3.13-${args.pname}-${args.version}" args
        // {
          inherit (args) pname version;
        };

      ps = lib.genAttrs pythonPackageNames (package "python3.13-") // {
        buildPythonPackage = pythonBuilder "buildPythonPackage";
        buildPythonApplication =
          args:
          stub "buildPythonApplication" "${args.pname}-${args.version}" args
          // {
            inherit (args) pname version;
          };
        # The arguments of pkgs/development/interpreters/python/editable.nix, which takes no others.
        mkPythonEditablePackage =
          {
            pname,
            version,
            root,
            derivationArgs ? { },
            dependencies ? [ ],
            optional-dependencies ? { },
            build-system ? [ ],
            scripts ? { },
            gui-scripts ? { },
            entry-points ? { },
            passthru ? { },
            meta ? { },
          }@args:
          assert builtins.isString root;
          pythonBuilder "mkPythonEditablePackage" args;
      };

      python313 = package "" "python3-3.13" // {
        pkgs = ps;
        withPackages = f: stub "python313.withPackages" "python3-3.13-env" { packages = f ps; };
      };
    in
    {
      inherit lib python313;
      stdenv.hostPlatform = {
        inherit isLinux;
        isDarwin = !isLinux;
      };
      stdenvNoCC.mkDerivation =
        args: stub "stdenvNoCC.mkDerivation" "${args.pname}-${args.version}" args;
      # The build script stays out of stubArgs: `${../.}` in it would copy the checkout to the
      # store as soon as the test forced it.
      runCommand = name: env: buildCommand: stub "runCommand" name env // { inherit buildCommand; };
      writeShellApplication = args: stub "writeShellApplication" args.name args;
      mkShell = args: stub "mkShell" "nix-shell" args;
      makeFontsConf = args: stub "makeFontsConf" "fonts.conf" args;
      dockerTools = {
        streamLayeredImage = args: stub "dockerTools.streamLayeredImage" "stream-${args.name}" args;
        fakeNss = package "" "fake-nss" // {
          override = args: stub "dockerTools.fakeNss.override" "fake-nss" args;
        };
        caCertificates = package "" "ca-certificates";
      };
      unixtools.ps = package "" "ps";
      chromium = linuxOnly "chromium";
      util-linux = linuxOnly "util-linux";
    }
    // lib.genAttrs [
      "bash"
      "cacert"
      "coreutils"
      "dejavu_fonts"
      "gnugrep"
      "gnumake"
      "mysql84"
      "newman"
      "nixfmt"
      "process-compose"
      "ruff"
      "shellcheck"
      "wrk"
    ] (package "");
in
{
  inherit lib;
  legacyPackages = lib.genAttrs systems pkgsFor;
}
