# flake.nix's outputs evaluated against stub-nixpkgs.nix, as plain data for tests/test_nix_eval.py:
# nix-instantiate --eval --strict --json tests/nix/eval-flake.nix
let
  flake = import ../../flake.nix;
  outputs = flake.outputs {
    self = outputs;
    nixpkgs = import ./stub-nixpkgs.nix;
  };

  # A stub derivation becomes { stub, name, path, args } with its arguments cleaned in turn;
  # paths become strings (never copied to the store), functions a placeholder.
  clean =
    value:
    if builtins.isAttrs value && value ? __stub then
      {
        stub = value.stubFunction;
        name = value.stubName;
        path = value.outPath;
        args = clean value.stubArgs;
      }
    else if builtins.isAttrs value then
      builtins.mapAttrs (_: clean) value
    else if builtins.isList value then
      map clean value
    else if builtins.isFunction value then
      "<function>"
    else if builtins.isPath value then
      toString value
    else
      value;
in
{
  inherit (flake) description;
  outputs = clean outputs;
}
