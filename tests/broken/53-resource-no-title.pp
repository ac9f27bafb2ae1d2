notify {}
