# frozen_string_literal: true

# Renders a settings hash as sorted `key = value` lines; each value goes through the module's
# Puppet-language function acme::quote and Puppet's sprintf, by call_function.
Puppet::Functions.create_function(:'acme::render_kv') do
  dispatch :render do
    param 'Hash[String, Any]', :settings
    optional_param 'String', :separator
  end

  def render(settings, separator = ' = ')
    lines = settings.keys.sort.map do |key|
      value = call_function('acme::quote', settings[key])
      call_function('sprintf', '%s%s%s', key, separator, value)
    end
    lines.join("\n") + "\n"
  end
end
