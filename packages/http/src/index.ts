// Security headers (src/headers/)

// Rate limiting (src/rate-limit/)
