# Renders the ERB probes with real Ruby, as Puppet's template wrapper would: each probe's
# variables become instance variables (undef variables are not set), `scope` answers
# `[]`/`lookupvar`/`to_hash`/`include?`/`exist?`, and ERB runs with trim mode '-'.
# Reads JSON lines {"name","vars","tpl"} on stdin; writes JSON lines {"name","ok"} or
# {"name","err"} on stdout.
require 'erb'
require 'json'
require 'ipaddr'

class ProbeScope
  def initialize(vars)
    @vars = vars
  end

  def [](name)
    @vars[name.to_s.sub(/\A::/, '')]
  end

  def lookupvar(name)
    self[name]
  end

  def to_hash
    @vars.reject { |_, v| v.nil? }
  end

  def include?(name)
    !self[name].nil?
  end

  def exist?(name)
    @vars.key?(name.to_s.sub(/\A::/, ''))
  end
end

class ProbeWrapper
  def initialize(scope, file)
    @__scope__ = scope
    @__file__ = file
  end

  def scope
    @__scope__
  end

  def file
    @__file__
  end

  def has_variable?(name)
    scope.include?(name.to_s)
  end

  def render(tpl)
    scope.to_hash.each do |name, value|
      instance_variable_set("@#{name.gsub(/[^\w]/, '_')}", value)
    end
    template = ERB.new(tpl, trim_mode: '-')
    template.filename = @__file__
    template.result(binding)
  end
end

$stdout.sync = true
$stdin.each_line do |line|
  probe = JSON.parse(line)
  answer = { 'name' => probe['name'] }
  begin
    out = ProbeWrapper.new(ProbeScope.new(probe['vars']), 'probe.erb').render(probe['tpl'])
    answer['ok'] = out.encode('UTF-8')
  rescue Exception => e # rubocop:disable Lint/RescueException
    answer['err'] = "#{e.class}: #{e.message}"
  end
  puts JSON.generate(answer)
end
