/*
  WebUpdaterSigned: an update page at http://web-updater.local/update (ESP8266HTTPUpdateServer)
  that accepts only files signed with your key.

  Upload the signed artifact postbuild wrote, never the plain .bin:
    curl -u admin:change-me -F "firmware=@build/WebUpdaterSigned.ino.bin.signed" http://web-updater.local/update
  or, for a core from 3.0.0 on, the smaller WebUpdaterSigned.ino.bin.gz.signed. The page answers
  200 even when the device refuses the file: read the text ("Update error: ERROR[12]: Signature
  verification failed" means unsigned or signed with another key).

  Signing: the build hook compiles public.key into the core; MANUAL_SIGNING shows it by hand.
*/

#include <ESP8266WiFi.h>              // WiFi
#include <ESP8266WebServer.h>         // ESP8266WebServer: the HTTP server the page runs on
#include <ESP8266mDNS.h>              // MDNS: web-updater.local
#include <ESP8266HTTPUpdateServer.h>  // ESP8266HTTPUpdateServer: the /update page and its POST handler
#include <BearSSLHelpers.h>           // BearSSL::PublicKey, BearSSL::HashSHA256, BearSSL::SigningVerifier
#include <Updater.h>                  // Update.installSignature()

#define MANUAL_SIGNING 0

static const char WIFI_SSID[] = "your-network";
static const char WIFI_PASSWORD[] = "your-password";
static const char HOSTNAME[] = "web-updater";
static const char UPDATE_USER[] = "admin";
static const char UPDATE_PASSWORD[] = "change-me";

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

ESP8266WebServer server(80);
ESP8266HTTPUpdateServer updatePage;

void setup() {
  Serial.begin(115200);
#if MANUAL_SIGNING
  Update.installSignature(&signingHash, &signingVerifier); // before the first upload can arrive
#endif
  WiFi.mode(WIFI_STA);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) delay(200);

  MDNS.begin(HOSTNAME);
  // The password keeps strangers from uploading; the signature keeps anyone from installing
  // firmware you did not sign, password or not.
  updatePage.setup(&server, "/update", UPDATE_USER, UPDATE_PASSWORD);
  server.begin();
  MDNS.addService("http", "tcp", 80);
  Serial.printf("update page: http://%s.local/update\n", HOSTNAME);
}

void loop() {
  server.handleClient();
  MDNS.update();
}
