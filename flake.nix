{
  description = "Users management: Quart REST API and web UI over MySQL 8.4, run by process-compose";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      # This project's parts for each system: services, stack, images, tools (nix/packages.nix).
      projects = lib.genAttrs systems (
        system: import ./nix/packages.nix { pkgs = nixpkgs.legacyPackages.${system}; }
      );
      forAllSystems = f: lib.mapAttrs (_: f) projects;
    in
    {
      # backend, frontend, stack (the default) and, on Linux, backend-image and frontend-image.
      packages = forAllSystems (project: project.packages);

      apps = forAllSystems (project: {
        default = {
          type = "app";
          program = lib.getExe project.stack;
          # `nix flake check` accepts type, program and meta on an app, and warns without
          # meta.description.
          inherit (project.stack) meta;
        };
      });

      devShells = forAllSystems (project: {
        default = import ./nix/shell.nix project;
      });

      checks = forAllSystems (import ./nix/checks.nix);

      formatter = forAllSystems (project: project.pkgs.nixfmt);
    };
}
