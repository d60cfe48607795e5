// The published targets: napi's platform key, Rust triple, and how this repo builds each.
// package.json's napi.targets, optionalDependencies and npm/<key>/ follow this list
// (scripts/sync-versions.mjs and __test__/loader.test.ts check that they agree).
export const TARGETS = [
  { key: 'linux-x64-gnu', triple: 'x86_64-unknown-linux-gnu', os: 'linux', cpu: 'x64', libc: 'glibc', fileArch: 'x86-64' },
  { key: 'linux-x64-musl', triple: 'x86_64-unknown-linux-musl', os: 'linux', cpu: 'x64', libc: 'musl', fileArch: 'x86-64' },
  { key: 'linux-arm64-gnu', triple: 'aarch64-unknown-linux-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc', fileArch: 'ARM aarch64' },
  { key: 'linux-arm64-musl', triple: 'aarch64-unknown-linux-musl', os: 'linux', cpu: 'arm64', libc: 'musl', fileArch: 'ARM aarch64' },
  { key: 'darwin-x64', triple: 'x86_64-apple-darwin', os: 'darwin', cpu: 'x64', libc: null, fileArch: 'x86_64' },
  { key: 'darwin-arm64', triple: 'aarch64-apple-darwin', os: 'darwin', cpu: 'arm64', libc: null, fileArch: 'arm64' },
]

// The oldest glibc the gnu builds may need: the floor of napi-rs's cross toolchain
// (@napi-rs/cross-toolchain, glibc 2.17), which the release workflow builds with.
export const GLIBC_FLOOR = '2.17'
