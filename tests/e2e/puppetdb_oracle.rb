# Ruby Puppet 7.23 oracle for exported resources: compiles CERTNAME's catalog the way puppetserver
# does with `storeconfigs = true` / `storeconfigs_backend = puppetdb`, so `Type <<| query |>>`
# collects what other nodes exported, by querying the PuppetDB at PDB_URL (the puppetdb terminus,
# Debian's puppet-terminus-puppetdb, GET /pdb/query/v4/resources over TLS with the master's cert).
#
# usage: ruby puppetdb_oracle.rb [options] CODEDIR ENVIRONMENT CERTNAME FACTS_JSON SSLDIR PDB_URL MASTER_CERTNAME
#   CODEDIR        holds environments/ENVIRONMENT (the environmentpath is CODEDIR/environments)
#   FACTS_JSON     {"values": {...}} or a flat facts hash
#   SSLDIR         Puppet ssldir layout: certs/ca.pem, crl.pem (optional: revocation checking is off
#                  without it), certs/MASTER_CERTNAME.pem, private_keys/MASTER_CERTNAME.pem
#   PDB_URL        https://127.0.0.1:PORT (puppetdb.conf server_urls)
# options: --normalize (zero version/catalog_uuid, file paths relative to the environment),
#          --server-fact K=V (override a server fact, e.g. servername=puppet.example.test),
#          --pdb-commands FILE: also write, as a JSON array, the commands puppetserver's terminus
#            would submit after this compile (replace_facts v5, replace_catalog v9, maybe
#            replace_catalog_inputs v1): [{"command", "version", "certname",
#            "producer_timestamp", "payload"}]. They are captured, never sent.
#
# Output: the catalog as puppetserver sends it to the agent (rich JSON, after the catalog
# indirection's filter has removed virtual and exported-but-not-collected resources) on stdout;
# Puppet's warnings/errors on stderr; exit 1 on failure.
#
# It never writes to PuppetDB: the storeconfigs setting hook makes the puppetdb terminus the cache
# of the catalog and facts indirections (their save = replace_catalog / replace_facts commands);
# both cache classes are reset to nil after the settings are initialized, so only the resource
# indirection (terminus store_configs -> puppetdb, read-only searches) keeps using PuppetDB. As a
# guard, Puppet::Util::Puppetdb::Command#submit raises if anything still tries to submit a command.
# With --pdb-commands the cache classes are kept (the real save path runs) and Command#submit
# records the command instead of sending it.
require 'json'
require 'cgi'
require 'optparse'
require 'tmpdir'
require 'fileutils'
require 'puppet'

JSON_OUT = $stdout.dup
$stdout.reopen($stderr)

class PdbOracleLogCollector
  def initialize(arr); @arr = arr; end
  def <<(msg); @arr << msg; end
end
Puppet::Util::Log.newdesttype :pdb_oracle_collector do
  match 'PdbOracleLogCollector'
  def initialize(collector); @collector = collector; end
  def handle(msg); @collector << msg; end
end

USAGE = 'usage: puppetdb_oracle.rb [options] CODEDIR ENVIRONMENT CERTNAME FACTS_JSON SSLDIR PDB_URL MASTER_CERTNAME'
opts = { normalize: false, server_facts: {} }
OptionParser.new do |o|
  o.banner = USAGE
  o.on('--normalize') { opts[:normalize] = true }
  o.on('--server-fact K=V') { |v| k, val = v.split('=', 2); opts[:server_facts][k] = val }
  o.on('--pdb-commands FILE') { |v| opts[:pdb_commands] = v }
end.parse!
abort(USAGE) unless ARGV.size == 7
codedir, envname, certname, facts_file, ssldir, pdb_url, master = ARGV

work = Dir.mktmpdir('puppetdb-oracle')
begin
  confdir = File.join(work, 'conf')
  vardir = File.join(work, 'var')
  Dir.mkdir(confdir)
  Dir.mkdir(vardir)
  File.write(File.join(confdir, 'puppet.conf'), '')
  File.write(File.join(confdir, 'hiera.yaml'), "---\nversion: 5\nhierarchy: []\n")
  File.write(File.join(confdir, 'puppetdb.conf'), "[main]\nserver_urls = #{pdb_url}\nsoft_write_failure = false\n")
  crl = File.join(ssldir, 'crl.pem')

  Puppet.initialize_settings([
    '--confdir', confdir, '--vardir', vardir, '--codedir', codedir,
    '--environmentpath', File.join(codedir, 'environments'),
    '--logdir', vardir, '--rundir', vardir, '--publicdir', vardir,
    '--environment', envname, '--certname', master, '--ssldir', File.expand_path(ssldir),
    '--certificate_revocation', File.exist?(crl) ? 'chain' : 'false',
    '--log_level', ENV['ORACLE_LOG_LEVEL'] || 'warning',
    '--storeconfigs', 'true', '--storeconfigs_backend', 'puppetdb',
    # no keep-alive: Ruby 3.1's Net::HTTP checks a kept-alive connection with wait_readable(0) +
    # eof?; over TLS 1.3 the NewSessionTicket Jetty sends after the handshake makes the socket
    # readable without application data, so eof? blocks until Jetty's 30 s idle timeout and the
    # request hits server_url_timeout (30 s). The compiler's collection loop queries PuppetDB
    # once per pass, so every collecting compile makes at least two queries.
    '--http_keepalive_timeout', '0',
  ])
  Puppet.settings.preferred_run_mode = :server
  logs = []
  Puppet::Util::Log.newdestination(PdbOracleLogCollector.new(logs))
  Puppet[:node_terminus] = 'plain'
  Puppet[:facts_terminus] = 'memory'

  # the storeconfigs hook (defaults.rb) set: catalog cache = store_configs, facts cache =
  # store_configs, resource terminus = store_configs. Keep only the resource terminus (reads).
  unless opts[:pdb_commands]
    Puppet::Resource::Catalog.indirection.set_global_setting(:cache_class, nil)
    Puppet::Node::Facts.indirection.set_global_setting(:cache_class, nil)
    Puppet[:catalog_cache_terminus] = nil
  end
  raise 'resource terminus is not store_configs' unless Puppet::Resource.indirection.terminus_class.to_s == 'store_configs'

  require 'puppet/util/puppetdb'
  captured = []
  Puppet::Util::Puppetdb::Command.prepend(Module.new do
    define_method(:submit) do
      raise Puppet::Error, 'puppetdb_oracle: refusing to submit a PuppetDB command (the oracle must not write)' unless opts[:pdb_commands]
      captured << { 'command' => command, 'version' => version, 'certname' => certname,
                    'producer_timestamp' => Puppet::Util::Puppetdb.to_wire_time(producer_timestamp_utc),
                    'payload' => JSON.parse(payload) }
      {}
    end
  end)

  raw = JSON.parse(File.read(facts_file))
  facts_hash = raw.key?('values') ? raw : { 'name' => certname, 'values' => raw }
  facts_hash['name'] = certname
  facts_hash['timestamp'] ||= Time.now.utc.iso8601(9)
  facts_hash['expiration'] ||= (Time.now.utc + 1800).iso8601(9)
  wire_facts = CGI.escape(JSON.generate(facts_hash))

  trusted = Puppet::Context::TrustedInformation.new('remote', certname, {}, {})
  env = Puppet.lookup(:environments).get!(envname)
  catalog = nil
  failure = nil
  begin
    Puppet.override({ trusted_information: trusted, current_environment: env }, 'puppetdb oracle compile') do
      terminus = Puppet::Resource::Catalog.indirection.terminus(:compiler)
      terminus.instance_variable_get(:@server_facts).merge!(opts[:server_facts])
      catalog = Puppet::Resource::Catalog.indirection.find(
        certname,
        environment: env,
        facts: wire_facts, facts_format: 'application/json',
        transaction_uuid: '00000000-0000-4000-8000-000000000000',
        configured_environment: envname, check_environment: 'true',
        static_catalog: 'true', checksum_type: 'sha256.sha384.sha512.sha224.md5'
      )
    end
  rescue Exception => e # rubocop:disable Lint/RescueException
    failure = e
  end

  seen = {}
  fmsg = failure&.message
  logs.each do |l|
    next unless %i[warning err alert emerg crit].include?(l.level)
    text = l.message.to_s
    next if fmsg && l.level != :warning && fmsg.include?(text)
    loc = l.file ? " (file: #{l.file}#{l.line ? ", line: #{l.line}" : ''}#{l.pos ? ", column: #{l.pos}" : ''})" : ''
    line = "#{l.level == :warning ? 'Warning' : 'Error'}: #{text}#{loc unless text.include?('(file: ')}"
    next if seen[line]
    seen[line] = true
    $stderr.puts line
  end
  if failure
    $stderr.puts("Error: #{fmsg}")
    exit 1
  end
  abort("no catalog compiled for #{certname}") unless catalog

  body = Puppet.override(rich_data: true) do
    Puppet::Network::FormatHandler.format(:rich_data_json).render(catalog)
  end
  if opts[:normalize]
    data = JSON.parse(body)
    data['version'] = 0
    data['catalog_uuid'] = '00000000-0000-0000-0000-000000000000'
    (data['resources'] || []).each do |r|
      r['file'] = r['file'].sub(%r{\A.*?/environments/[^/]+/}, '') if r['file']
    end
    body = JSON.pretty_generate(data)
  end
  File.write(opts[:pdb_commands], JSON.pretty_generate(captured) + "\n") if opts[:pdb_commands]
  JSON_OUT.write(body)
  JSON_OUT.write("\n")
  JSON_OUT.flush
ensure
  FileUtils.rm_rf(work)
end
