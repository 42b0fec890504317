// A stand-in sketch for the demo: the demo never compiles it, it only needs a sketch folder.
void setup() {}
void loop() {}
