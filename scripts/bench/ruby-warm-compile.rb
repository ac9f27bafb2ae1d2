# Warm compile timing with the Ruby Puppet 7 compiler (Debian puppet-agent), the same
# terminus puppetserver uses: Puppet is loaded once, then the catalog is compiled N times.
# usage: ruby ruby-warm-compile.rb ENVIRONMENTPATH ENV CERTNAME FACTS.json N
require 'json'
require 'cgi'
require 'tmpdir'
require 'puppet'

envpath, envname, certname, facts_file, n = ARGV
n = (n || 20).to_i
work = Dir.mktmpdir('ruby-warm')
conf = File.join(work, 'conf'); var = File.join(work, 'var')
Dir.mkdir(conf); Dir.mkdir(var)
File.write(File.join(conf, 'puppet.conf'), '')
File.write(File.join(conf, 'hiera.yaml'), "---\nversion: 5\nhierarchy: []\n")
Puppet.initialize_settings(['--confdir', conf, '--vardir', var, '--codedir', work, '--environmentpath', envpath,
                            '--logdir', var, '--rundir', var, '--publicdir', var, '--log_level', 'err',
                            '--environment_timeout', 'unlimited'])
Puppet.settings.preferred_run_mode = :server
Puppet[:node_terminus] = 'plain'
Puppet[:facts_terminus] = 'memory'
raw = JSON.parse(File.read(facts_file))
facts = raw.key?('values') ? raw : { 'name' => certname, 'values' => raw }
facts['name'] = certname
wire = CGI.escape(JSON.generate(facts))
trusted = Puppet::Context::TrustedInformation.new('remote', certname, {}, {})
env = Puppet.lookup(:environments).get!(envname)
times = []
Puppet.override({ trusted_information: trusted, current_environment: env }, 'bench') do
  terminus = Puppet::Resource::Catalog.indirection.terminus(:compiler)
  n.times do
    t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    cat = Puppet::Resource::Catalog.indirection.find(certname, environment: env, facts: wire, facts_format: 'application/json')
    cat.to_json
    times << (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1000.0
  end
end
s = times.sort
printf("compiles=%d first_ms=%.3f median_ms=%.3f min_ms=%.3f\n", times.size, times[0], s[s.size / 2], s[0])
