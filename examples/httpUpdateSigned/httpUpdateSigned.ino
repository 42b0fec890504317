/*
  httpUpdateSigned: the device asks `esp8266-sign serve` for its update every few minutes
  (ESP8266httpUpdate, "HTTP server" mode) and installs it only if the signature verifies.

  Server side, on the machine that builds the firmware:
    esp8266-sign publish --build-dir <build folder> --project-name httpUpdateSigned.ino \
                         --version 1.0.1 --to releases
    esp8266-sign serve --releases releases --listen 0.0.0.0:8266

  FIRMWARE_VERSION below must be the --version you publish this very build as: serve answers
  304 ("nothing to do") when the device reports the release's version or the sketch MD5 the
  release installs, so each build polls with the version it was published under.

  Signing: with esp8266-sign installed as the build hook (esp8266-sign install), a public.key
  next to this sketch is compiled into the core (Updater_Signing.h) and the Updater checks every
  update against it; nothing in this file is needed for that. MANUAL_SIGNING shows the same set-up
  done by hand, for builds without the hook (the key then lives in this file).
*/

#include <ESP8266WiFi.h>        // WiFi, WiFiClient: the connection the update is read from
#include <ESP8266httpUpdate.h>  // ESPhttpUpdate and HTTP_UPDATE_*: not included by ESP8266WiFi.h
#include <BearSSLHelpers.h>     // BearSSL::PublicKey, BearSSL::HashSHA256, BearSSL::SigningVerifier
#include <Updater.h>            // Update, whose installSignature() turns verification on

#define MANUAL_SIGNING 0        // 1: verify with the key below instead of the build hook's header
#define USE_HTTPS 0             // 1: talk to serve --cert/--key, pinning its certificate

static const char WIFI_SSID[] = "your-network";
static const char WIFI_PASSWORD[] = "your-password";
#if USE_HTTPS
static const char UPDATE_URL[] = "https://192.168.1.10:8266/update";
// SHA-1 fingerprint of serve's certificate: openssl x509 -noout -fingerprint -sha1 -in cert.pem
static const char SERVER_FINGERPRINT[] = "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33";
#else
static const char UPDATE_URL[] = "http://192.168.1.10:8266/update";
#endif
static const char FIRMWARE_VERSION[] = "1.0.1";
static const unsigned long POLL_INTERVAL_MS = 5UL * 60UL * 1000UL;

#if MANUAL_SIGNING
// The contents of public.key (SubjectPublicKeyInfo PEM, as esp8266-sign keygen writes it).
// Only the public half: it can check signatures, never make them.
static const char PUBLIC_KEY_PEM[] = R"KEY(
-----BEGIN PUBLIC KEY-----
paste the lines of your public.key here
-----END PUBLIC KEY-----
)KEY";
// Parses the PEM once at start-up; a key the device cannot load makes every update fail with
// "Signature verification failed" (esp8266-sign header and prebuild check this for you).
BearSSL::PublicKey signingKey(PUBLIC_KEY_PEM);
// The Updater feeds every byte it writes to flash through this SHA-256.
BearSSL::HashSHA256 signingHash;
// At Update.end() it checks the RSA signature at the end of the file against that hash and key.
BearSSL::SigningVerifier signingVerifier(&signingKey);
#endif

static unsigned long lastPoll = 0;
static bool polledOnce = false;

void setup() {
  Serial.begin(115200);
#if MANUAL_SIGNING
  // From now on Update (and so ESPhttpUpdate, ArduinoOTA and the web updater) refuses unsigned
  // files and files signed with another key; call it before any update can start.
  Update.installSignature(&signingHash, &signingVerifier);
#endif
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
}

static void checkForUpdate() {
#if USE_HTTPS
  BearSSL::WiFiClientSecure client;
  client.setFingerprint(SERVER_FINGERPRINT);
#else
  WiFiClient client;
#endif
  // The device restarts by itself after a good update; say what happens otherwise.
  ESPhttpUpdate.rebootOnUpdate(true);
  HTTPUpdateResult result = ESPhttpUpdate.update(client, UPDATE_URL, FIRMWARE_VERSION);
  switch (result) {
    case HTTP_UPDATE_FAILED:
      // e.g. "Update error: ERROR[12]: Signature verification failed", or -104 when serve refused
      // (its log says why: no space, wrong chip size, a downgrade ...)
      Serial.printf("update failed (%d): %s\n", ESPhttpUpdate.getLastError(), ESPhttpUpdate.getLastErrorString().c_str());
      break;
    case HTTP_UPDATE_NO_UPDATES:
      Serial.println("already up to date");
      break;
    case HTTP_UPDATE_OK:
      Serial.println("updated; restarting");
      break;
  }
}

void loop() {
  if (WiFi.status() != WL_CONNECTED) return;
  if (polledOnce && millis() - lastPoll < POLL_INTERVAL_MS) return;
  polledOnce = true;
  lastPoll = millis();
  checkForUpdate();
}
