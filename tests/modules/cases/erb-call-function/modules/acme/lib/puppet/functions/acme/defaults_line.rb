# frozen_string_literal: true

# Formats [name, value] pairs as one "Defaults" line: `name`, `name=value`, or `!name` for false.
Puppet::Functions.create_function(:'acme::defaults_line') do
  dispatch :line do
    repeated_param 'Tuple[String, Any]', :pairs
    return_type 'String'
  end

  def line(*pairs)
    items = pairs.map do |name, value|
      case value
      when nil then name
      when false then "!#{name}"
      else "#{name}=#{value}"
      end
    end
    "Defaults\t#{items.join(', ')}\n"
  end
end
