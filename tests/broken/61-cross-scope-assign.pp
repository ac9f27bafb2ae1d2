$ntp::servers = []
