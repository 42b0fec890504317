/*
  BasicOTASigned: the device waits for `esp8266-sign upload` (ArduinoOTA, the IDE's network
  port) and installs only updates signed with your key.

  From the build machine:
    esp8266-sign upload --build-dir <build folder> --project-name BasicOTASigned.ino \
                        --host basic-ota.local --password-file ota-password.txt

  The OTA password only decides who may start an upload; the signature decides what may be
  installed. Keep both: without the signature anyone who learns the password (it travels as an
  MD5 challenge) can flash anything.

  Signing: the build hook (esp8266-sign install) compiles public.key into the core, and the
  Updater ArduinoOTA writes through verifies every upload; MANUAL_SIGNING shows it done by hand.
*/

#include <ESP8266WiFi.h>   // WiFi
#include <ESP8266mDNS.h>   // MDNS: announces basic-ota.local so upload (and the IDE) find it
#include <WiFiUdp.h>       // WiFiUDP: ArduinoOTA's invitation arrives over UDP
#include <ArduinoOTA.h>    // ArduinoOTA, ota_error_t, OTA_*_ERROR
#include <BearSSLHelpers.h> // BearSSL::PublicKey, BearSSL::HashSHA256, BearSSL::SigningVerifier
#include <Updater.h>       // Update.installSignature()

#define MANUAL_SIGNING 0

static const char WIFI_SSID[] = "your-network";
static const char WIFI_PASSWORD[] = "your-password";
static const char HOSTNAME[] = "basic-ota";
static const char OTA_PASSWORD[] = "change-me";

#if MANUAL_SIGNING
static const char PUBLIC_KEY_PEM[] = R"KEY(
-----BEGIN PUBLIC KEY-----
paste the lines of your public.key here
-----END PUBLIC KEY-----
)KEY";
BearSSL::PublicKey signingKey(PUBLIC_KEY_PEM);        // the public key, parsed once
BearSSL::HashSHA256 signingHash;                       // hashes what the Updater writes to flash
BearSSL::SigningVerifier signingVerifier(&signingKey); // checks the signature at Update.end()
#endif

void setup() {
  Serial.begin(115200);
#if MANUAL_SIGNING
  Update.installSignature(&signingHash, &signingVerifier); // before ArduinoOTA.begin()
#endif
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) delay(200);

  ArduinoOTA.setHostname(HOSTNAME);
  ArduinoOTA.setPassword(OTA_PASSWORD);
  ArduinoOTA.onStart([]() { Serial.println("OTA: receiving"); });
  ArduinoOTA.onEnd([]() { Serial.println("OTA: verified and staged; restarting"); });
  ArduinoOTA.onError([](ota_error_t error) {
    // OTA_END_ERROR is where a bad or missing signature shows up (ERROR[12] on the uploader's side)
    if (error == OTA_AUTH_ERROR) Serial.println("OTA: wrong password");
    else if (error == OTA_BEGIN_ERROR) Serial.println("OTA: does not fit / bad size");
    else if (error == OTA_CONNECT_ERROR) Serial.println("OTA: could not connect back to the uploader");
    else if (error == OTA_RECEIVE_ERROR) Serial.println("OTA: transfer broke off");
    else if (error == OTA_END_ERROR) Serial.println("OTA: rejected at the end (signature?)");
  });
  ArduinoOTA.begin(); // also starts MDNS for HOSTNAME
  Serial.printf("OTA ready on %s.local (%s)\n", HOSTNAME, WiFi.localIP().toString().c_str());
}

void loop() {
  // Answers invitations; a loop() that blocks for seconds makes uploads time out.
  ArduinoOTA.handle();
  MDNS.update();
}
