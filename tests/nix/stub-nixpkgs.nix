# A stand-in for the nixpkgs flake input, for tests/test_nix_eval.py: no builds, no store.
# Every builder returns a stub derivation that keeps its arguments (`stubArgs`), so a test can
# read what our Nix files pass to nixpkgs. Only the attributes our files use exist: a new one
# fails the evaluation until it is added here (and looked up in nixpkgs, see nix/README.md).
#
# As strict as the real functions, where they are strict: a builder with a fixed argument set
# takes exactly that set (a pattern without `...`, copied from the nixpkgs file named beside
# it), so an unknown or misspelt argument fails here as it would there. A builder that hands
# what it does not know to mkDerivation takes anything, but refuses a list the build script
# would split wrongly (refuseMangledLists in stub-lib.nix).
#
# What it cannot know: the argument lists were read in stored copies of nixpkgs of other dates
# than the pinned nixos-26.05 (the commit is named beside each), so an argument added or
# dropped since is not seen; whether a package exists, builds, or has the version we need;
# what a hook does at build time beyond the word-splitting rule; and anything inside a string
# we hand over (scripts, shellHook), which only the real build runs.
let
  systems = [
    "x86_64-linux"
    "aarch64-linux"
    "x86_64-darwin"
    "aarch64-darwin"
  ];
  inherit (import ./stub-lib.nix)
    lib
    refuseMangledLists
    stub
    mkDerivationStub
    package
    ;

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
        "opentelemetry-api"
        "opentelemetry-sdk"
        "opentelemetry-exporter-otlp-proto-http"
        "opentelemetry-instrumentation-httpx"
        "httpx"
        "sniffio"
        "pytest"
        "pytest-asyncio"
        "playwright"
        "pyyaml"
        "python-dotenv"
        "kubernetes-validate"
        "schemathesis"
        "jinja2"
        "packaging"
      ];

      # pkgs/development/interpreters/python/mk-python-derivation.nix: `{ ..., ... }@attrs`, and
      # "Keep extra attributes from `attrs`": whatever it does not know goes to mkDerivation.
      pythonBuilder =
        function: name: args:
        mkDerivationStub function (name args) args
        // {
          inherit (args) pname version;
        };

      ps = lib.genAttrs pythonPackageNames (package "python3.13-") // {
        buildPythonPackage = pythonBuilder "buildPythonPackage" (
          args: "python3.13-${args.pname}-${args.version}"
        );
        buildPythonApplication = pythonBuilder "buildPythonApplication" (
          args: "${args.pname}-${args.version}"
        );
        # pkgs/development/interpreters/python/editable.nix takes these and no others; only
        # derivationArgs goes on to mkDerivation.
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
          builtins.seq (refuseMangledLists "mkPythonEditablePackage" derivationArgs) (
            stub "mkPythonEditablePackage" "python3.13-${pname}-${version}" args
            // {
              inherit pname version;
            }
          );
      };

      python313 = package "" "python3-3.13" // {
        pkgs = ps;
        # pkgs/development/interpreters/python/with-packages.nix: `f: buildEnv.override
        # { extraLibs = f pythonPackages; }`, one function from the package set to a list.
        withPackages =
          f:
          let
            packages = f ps;
          in
          assert builtins.isList packages;
          stub "python313.withPackages" "python3-3.13-env" { inherit packages; };
      };
    in
    {
      inherit lib python313;
      stdenv.hostPlatform = {
        inherit isLinux;
        isDarwin = !isLinux;
      };
      # pkgs/build-support/trivial-builders/default.nix (at 00ee9b64aafe): `name: env:` then the
      # script; env goes to mkDerivation. The script stays out of stubArgs: `${../.}` in it would
      # copy the checkout to the store as soon as the test forced it.
      # pkgs/build-support/fetchpypi/default.nix (at 13c8ddb845ee): format, the hash and the parts
      # of a wheel's file name.
      fetchPypi =
        {
          pname,
          version,
          format ? "setuptools",
          hash,
          dist ? "py2.py3",
          python ? "py2.py3",
          abi ? "none",
          platform ? "any",
        }@args:
        stub "fetchPypi" "${pname}-${version}-${python}-${abi}-${platform}.whl" args;
      # pkgs/build-support/fetchurl/default.nix: url (or urls) and one of hash / sha256 (base16,
      # base32 or SRI) among its many optional arguments.
      fetchurl =
        {
          url,
          sha256 ? "",
          hash ? "",
          ...
        }@args:
        assert sha256 != "" || hash != "";
        stub "fetchurl" (baseNameOf url) args;
      runCommand =
        name: env: buildCommand:
        mkDerivationStub "runCommand" name env // { inherit buildCommand; };
      # Same file: writeShellApplication's argument set. runtimeInputs become PATH in Nix
      # (makeBinPath), not in the builder; derivationArgs go to mkDerivation.
      writeShellApplication =
        {
          name,
          text,
          runtimeInputs ? [ ],
          runtimeEnv ? null,
          meta ? { },
          passthru ? { },
          checkPhase ? null,
          excludeShellChecks ? [ ],
          extraShellCheckFlags ? [ ],
          bashOptions ? [
            "errexit"
            "nounset"
            "pipefail"
          ],
          derivationArgs ? { },
          inheritPath ? true,
        }@args:
        assert builtins.isString text;
        builtins.seq (refuseMangledLists "writeShellApplication" derivationArgs) (
          stub "writeShellApplication" name args
        );
      # pkgs/build-support/mkshell/default.nix: a few named inputs and `...`, all of it passed
      # on to mkDerivation (`packages` as nativeBuildInputs).
      mkShell =
        {
          name ? "nix-shell",
          ...
        }@args:
        mkDerivationStub "mkShell" name args;
      # pkgs/development/libraries/fontconfig/make-fonts-conf.nix: the caller gives
      # fontDirectories (callPackage fills in the rest); they reach the builder as a list.
      makeFontsConf =
        { fontDirectories }@args:
        builtins.seq (refuseMangledLists "makeFontsConf" args) (
          stub "makeFontsConf" "fonts.conf" args
        );
      dockerTools = {
        # pkgs/build-support/docker/default.nix (function at 34b7a306c35b; the newer arguments
        # architecture, mtime, uid, gid, uname, gname and includeNixDB from
        # doc/build-helpers/images/dockertools.section.md at 0148e16d1446). A fixed set.
        streamLayeredImage =
          {
            name,
            tag ? null,
            fromImage ? null,
            contents ? [ ],
            config ? { },
            architecture ? null,
            created ? "1970-01-01T00:00:01Z",
            mtime ? "1970-01-01T00:00:01Z",
            uid ? 0,
            gid ? 0,
            uname ? "root",
            gname ? "root",
            maxLayers ? 100,
            extraCommands ? "",
            fakeRootCommands ? "",
            enableFakechroot ? false,
            includeStorePaths ? true,
            includeNixDB ? false,
            passthru ? { },
          }@args:
          stub "dockerTools.streamLayeredImage" "stream-${baseNameOf name}" args;
        # pkgs/by-name/fa/fakeNss/package.nix: `override` calls the file's function again, so
        # only its arguments are accepted; Nix joins the lines itself.
        fakeNss = package "" "fake-nss" // {
          override =
            {
              lib ? null,
              symlinkJoin ? null,
              writeTextDir ? null,
              runCommand ? null,
              extraPasswdLines ? [ ],
              extraGroupLines ? [ ],
            }@args:
            assert builtins.all builtins.isString (extraPasswdLines ++ extraGroupLines);
            stub "dockerTools.fakeNss.override" "fake-nss" args;
        };
        caCertificates = package "" "ca-certificates";
      };
      unixtools.ps = package "" "ps";
      chromium = linuxOnly "chromium";
      util-linux = linuxOnly "util-linux";
      bubblewrap = linuxOnly "bubblewrap";
    }
    // lib.genAttrs [
      "bash"
      "cacert"
      "coreutils"
      "deadnix"
      "dejavu_fonts"
      "gnugrep"
      "gnumake"
      "jre_headless"
      "kustomize"
      "mysql84"
      "newman"
      "nixfmt"
      "opentelemetry-collector-contrib"
      "process-compose"
      "prometheus-mysqld-exporter"
      "ruff"
      "shellcheck"
      "statix"
      "victoriametrics"
      "wrk"
    ] (package "");
in
{
  inherit lib;
  legacyPackages = lib.genAttrs systems pkgsFor;
}
