//! Test keys generated with openssl for these tests only (never used elsewhere).

/// RS256 signing key (PKCS#8), 2048 bits.
pub const RSA_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDavqdvcjTLc9M5\n\
bGzduccXf6PFL4IRLEZnpQHN0DR9qz4C/Gdi+v3Lxlc7QDDDPKus33sz2O/3e8X6\n\
4cjmeXEU2ySeHBJ4HUYuvTbr+RSSTrkZAlQtQFAAXtOOh4vOVUJZZYpTso6icw6H\n\
/xfTxH18xFIoukeLD4g9W6aZTki9xnYYy0rJePA81baVJ1ZoqzQ4LkH8MODuGie9\n\
odll90pGLenjTl2nW8NdlCxFKGFreUbyLQl6nvE6MRhoSIgGwcLYFcWawpX21FLu\n\
LIdlqTskGD72RqKoIWhSPAI25hZgWTBz3AAEoMQRojIbpRym8zdBaL1EiHDiuCnv\n\
okp6dQ5DAgMBAAECggEAAc6weHnDmOjAlolgTuaxj+6kjkUJuJWakVGqNaaiQGWR\n\
Uhn+yrETNsNRRjKOFJbkPj3seS2yMePKa3vBGrJnLkpvP4Uw2+A2C73Rfdqlgl33\n\
Jo8/3c3Zu18NNXDGRXKr5SwzG+TuS8ZSmOoRKtVFSiofGaoMXEhJEmS2+C5O6I5+\n\
0ycjdBgLhrZ57qnPgjyCwW8AsHiOOVy9UIKZvpJ5gH7/ptUbLqqMyAVvXPDFkiyh\n\
DL7u6mmjoQz8EkGZl5StPaegHWjIl6YEk1YtsD8rYXnu5tNHi/HnDS419f/uDIm9\n\
XB8qzVVsEVJNUQwCoS/x65PUQGwAvfRh/o4GN6+0JQKBgQDvICIdz9dUjZ89BlcC\n\
5zWU0bzlYICVEVJ7naM6sAJHftWv19MeqUVqh9uY7RWbKXcDoVlUenNoKBq/gMi0\n\
Sjw+fRI0WZOoKCC2EpvGXMCkxhgRTfP27jjHIN8p/UNf+7zQI2khna5oB/Ann7QU\n\
qaCXzCtNcQXPF9EhqNgWVvkCZQKBgQDqLlYn5ri3dJbZdloN/NdAZssg0P6utVJY\n\
F4ZrGSIf3glxM4tQHpkXFmMPgKrC+Vhvk/ePfTB6zE0hPbJ79C4j/fF5maM6ML9T\n\
aYKPMaIV8ZcL+CJF+f3n1NBeJz/h5vTUrc5iTU/GxELgetdrLQlLS8Fq+t2PnINN\n\
zUgQ0X9vhwKBgDtag31Y2H7hRDQ2faR31UHiKXvZzzCxAwMx5pErnPU4Ezw5WurS\n\
YyuFG0nDF0jTKvpYsz6XwkuJINKF2ct+XaO5EaqyzUbA5xWqWsYKwbpkfRbWfYa+\n\
LJOoohvfBDkv1/blwzOX2vFxfvem2WEDlZv4DouDUUjNBZjQOwqYfehNAoGAQe09\n\
kAoiInOOLDZnb9yodJb7xIdRy7l8LxSgYPI4ayRFIDtUkv+qNZe1151vdWhg/zh2\n\
z0x9I3T0mdEWuFKr0rIhEwyvqSgkFMV1Xf6pFOhoj5QRggW491UwO/FsyJoOfvlX\n\
StFdDiYedbffgWqyXSI8l3N8gHudc3/BNArmh20CgYACp6FUGLasYcPFD5Dwfpg0\n\
d0DLJ0kSE161xE2mlMJhWtpUZZwh3ugi9lrHtRbim+19RjSXoQj364OzOaWsqdi4\n\
um0D+y9VQIJHFRG6bMNptDj/Rr5l8qFyczH+wdBGfeyxcxHabMqwNvitC397tLB5\n\
SbGbYQpWW3lFamUmFZDWEw==\n\
-----END PRIVATE KEY-----\n\
";

/// Its public key.
pub const RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2r6nb3I0y3PTOWxs3bnH\n\
F3+jxS+CESxGZ6UBzdA0fas+AvxnYvr9y8ZXO0AwwzyrrN97M9jv93vF+uHI5nlx\n\
FNsknhwSeB1GLr026/kUkk65GQJULUBQAF7TjoeLzlVCWWWKU7KOonMOh/8X08R9\n\
fMRSKLpHiw+IPVummU5IvcZ2GMtKyXjwPNW2lSdWaKs0OC5B/DDg7honvaHZZfdK\n\
Ri3p405dp1vDXZQsRShha3lG8i0Jep7xOjEYaEiIBsHC2BXFmsKV9tRS7iyHZak7\n\
JBg+9kaiqCFoUjwCNuYWYFkwc9wABKDEEaIyG6UcpvM3QWi9RIhw4rgp76JKenUO\n\
QwIDAQAB\n\
-----END PUBLIC KEY-----\n\
";

/// Another 2048-bit RSA public key (signatures of RSA_PRIVATE do not match it).
pub const RSA_OTHER_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmJHScCSUbqXPvc+78qPl\n\
0D8bFrOLzQBg7jxTU+iL0vlYfp9GwHsggvQgD1t46zcL3DcBYNhDiVDIKEPLGm3x\n\
TNKQeSF368smVZjXDRHaX+gP41p2AY/5AIQiSm8OVhn5CLhrMe+3D2PFTmB8b0xR\n\
+GstsyO325CPTbtgUPUewrxXKKqcJdaoLycuvh2qe/jmChCKPX5REbkMcs88S9vM\n\
Y5r/95hbPntE6VoE9s+xzol5XAx7UzfQ7jLndcxtyvksqOQmnOtFSzdqffll0mS0\n\
GkbUs08IyrjOhUzzl8X2m9heynVlCPKANejIqdxGK8fdqiM7t/oQ1bp5fdLmSQS1\n\
twIDAQAB\n\
-----END PUBLIC KEY-----\n\
";

/// A 1024-bit RSA public key (too small).
pub const RSA_1024_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDXkHaOo0q0VFAxmjyyubXgpV71\n\
0+ZQA7pmJwVXKd0AtamR1OpozPrZ07fEOdSM9AK0ojtGZbKiUgHybqIjkWD3EmRb\n\
TXx9SHkYrsfofQvApFv3LS0q4Xg9RrSxVDXtQNlO0xiVPmUTDUo48cEwHPijoQ43\n\
N4ewwNnpxAbs01yCawIDAQAB\n\
-----END PUBLIC KEY-----\n\
";

/// ES256 signing key (PKCS#8, P-256).
pub const EC_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+Q4Ltjv+heWyxmlR\n\
LAZBfxwOImfU2Bpage7fyyG8SuGhRANCAAT94KpZXzDzXM7VToN8YWyHt9O+49Td\n\
Ma4YwcrbJ+9w5gNI7RaXF+eqE+an8nIGiziSV+/hf9olaHKjTW7Ti6un\n\
-----END PRIVATE KEY-----\n\
";

/// Its public key.
pub const EC_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/eCqWV8w81zO1U6DfGFsh7fTvuPU\n\
3TGuGMHK2yfvcOYDSO0WlxfnqhPmp/JyBos4klfv4X/aJWhyo01u04urpw==\n\
-----END PUBLIC KEY-----\n\
";

/// Another P-256 public key.
pub const EC_OTHER_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHpURvDXztlIp0veA54MMjfRn6CJ5\n\
gxfGHHB5JOSj104NXxbKZEmE6pQH9r8sIVCJVACUWqGBpgPVd9sMGFFsCA==\n\
-----END PUBLIC KEY-----\n\
";

/// A P-384 public key (wrong curve for ES256).
pub const EC_P384_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEIeUhWCBuX+Xf+Yww8RIkJ8V0cPqE/vIl\n\
qOU27ioVuK81Srg6Jb3Y849YOJZ/aTgNanP7wK9CVb5k3kvyvealb9/QVVd6TFVT\n\
/M9o8BZuHuPPXdGizTaEvsc8wNcDkgoT\n\
-----END PUBLIC KEY-----\n\
";
