# Loaded (RUBYOPT=-r) before the lab's offline compiler (oracle-compile.rb): when ORACLE_ENC
# names a classifier, the node terminus the oracle sets is replaced by Puppet's own `exec`
# terminus with that `external_nodes` command, so the Ruby compiler classifies nodes as
# puppetserver does with an ENC.
require 'puppet'

module TroupeOracleEnc
  def []=(key, value)
    if key.to_s == 'node_terminus' && ENV['ORACLE_ENC'] && !ENV['ORACLE_ENC'].empty?
      super(:external_nodes, ENV['ORACLE_ENC'])
      value = 'exec'
    end
    super(key, value)
  end
end
Puppet::Settings.prepend(TroupeOracleEnc)
