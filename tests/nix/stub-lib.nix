# Helpers of tests/nix/stub-nixpkgs.nix: the lib functions our files use, the stub
# derivation, and the rule of what mkDerivation does with a list attribute.
let
  # The few lib functions our files call, as nixpkgs' lib/ defines them (getExe stricter: it
  # needs meta.mainProgram instead of guessing with a warning).
  lib = {
    inherit (builtins) mapAttrs;
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
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    getExe =
      drv:
      let
        program =
          drv.meta.mainProgram
            or (throw "lib.getExe ${drv.name}: no meta.mainProgram (nixpkgs would guess it and warn)");
      in
      "${drv}/bin/${program}";
  };

  # How Nix writes one list element into the build script's environment: a derivation or a
  # path as its store path (a path is copied there, under a name that cannot hold a space).
  builderWord =
    value:
    if builtins.isAttrs value then
      value.outPath or ""
    else if builtins.isPath value then
      baseNameOf value
    else if builtins.isBool value then
      (if value then "1" else "")
    else
      toString value;
  # Whitespace splits the word (`concatTo` in pkgs/stdenv/generic/setup.sh); quotes, `$`,
  # backticks and backslashes change it where a hook `eval`s the list.
  isMangled = word: builtins.match ''.*[[:space:]"'$`\].*'' word != null;

  # What mkDerivation does with a list attribute without __structuredAttrs: one string, split
  # again by the hooks. The same rule as lists_mangled_by_the_builder in tests/nix_stub.py;
  # meta and passthru never reach the builder.
  refuseMangledLists =
    function: args:
    let
      mangled = builtins.filter (
        name:
        !(builtins.elem name [
          "meta"
          "passthru"
        ])
        && builtins.isList args.${name}
        && builtins.any (item: isMangled (builderWord item)) args.${name}
      ) (builtins.attrNames args);
    in
    if args.__structuredAttrs or false || mangled == [ ] then
      args
    else
      throw (
        "${function}: without __structuredAttrs the list attribute(s) ${toString mangled} reach the "
        + "build script as one string that the hooks split on whitespace again, so an element with "
        + "whitespace, a quote, $, a backtick or a backslash does not arrive whole: "
        + builtins.toJSON (map (name: map builderWord args.${name}) mangled)
      );

  # A derivation that records who made it and with what. `outPath` lets it stand in strings
  # ("${pkgs.cacert}/etc/...") and in lists joined for the builder, as a real one does.
  stub = function: name: args: {
    __stub = true;
    stubFunction = function;
    stubName = name;
    stubArgs = args;
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta = args.meta or { };
  };
  # A builder whose attributes go on to mkDerivation: checked as soon as the result is used.
  mkDerivationStub =
    function: name: args:
    builtins.seq (refuseMangledLists function args) (stub function name args);

  # A package taken as it is from nixpkgs.
  package =
    prefix: name:
    stub "nixpkgs" "${prefix}${name}" { }
    // {
      pname = name;
    };
in
{
  inherit
    lib
    refuseMangledLists
    stub
    mkDerivationStub
    package
    ;
}
